import { describe, expect, it } from "vitest";
import { lookupSysctl, parseValue, RULES, type SysctlSpec } from "../../../src/rules/index.js";

/**
 * Facts the catalog once had wrong, each pinned to its primary source (a kernel file and function,
 * or a commit) so the mistake cannot come back unnoticed.
 */
const spec = (name: string): SysctlSpec => {
  const s = lookupSysctl(name);
  if (!s) throw new Error(`${name} is not in the catalog`);
  return s;
};
const takes = (name: string, value: string): boolean => parseValue(spec(name).grammar, value).ok;
const text = (s: SysctlSpec): string => [s.summary, ...s.hazards, ...s.references.map((r) => r.title)].join("\n");

const CORRECTIONS: readonly (readonly [correction: string, source: string, check: () => void])[] = [
  [
    "tcp_timestamps=0 loses RTT samples for retransmitted data, not RTT measurement",
    "net/ipv4/tcp_input.c tcp_ack_update_rtt()",
    () => {
      const s = spec("net.ipv4.tcp_timestamps");
      expect(text(s)).not.toMatch(/disables PAWS, RTT measurement/);
      expect(text(s)).toMatch(/tcp_ack_update_rtt\(\)/);
      expect(text(s)).toMatch(/retransmitted data/);
    },
  ],
  [
    "the even-port preference and its parity warning came with 07f4c90062f8 in 4.2, as the catalog dates the 32768-60999 default",
    'commit 07f4c90062f8 "tcp/dccp: try to not exhaust ip_local_port_range in connect()" (2015-05-24, v4.2)',
    () => {
      const ref = RULES.find((r) => r.id === "TT022")?.reference.title ?? "";
      expect(ref).toMatch(/07f4c90062f8/);
      expect(ref).toMatch(/\b4\.2\b/);
      expect(ref).not.toMatch(/4\.6/);
      expect(spec("net.ipv4.ip_local_port_range").defaultValue).toMatch(/32768 61000 up to 4\.1/);
    },
  ],
  [
    "a port range below ip_unprivileged_port_start is refused only from 4.11, where the start key arrived",
    "commit 4548b683b781 (ip_unprivileged_port_start, 4.11): the check in ipv4_local_port_range() (net/ipv4/sysctl_net_ipv4.c)",
    () => {
      const hazard = spec("net.ipv4.ip_local_port_range").hazards.find((h) => h.includes("ip_unprivileged_port_start")) ?? "";
      expect(hazard).toMatch(/From 4\.11 \(4548b683b781\)/);
      expect(spec("net.ipv4.ip_unprivileged_port_start").since).toBe("4.11");
    },
  ],
  [
    "tcp_max_syn_backlog defaults to max(128, ehash entries / 128), with the floor of 128 on older kernels too",
    "net/ipv4/tcp_ipv4.c tcp_sk_init() / tcp_set_hashinfo(); net/ipv4/tcp.c tcp_init() before 4.11",
    () => {
      const s = spec("net.ipv4.tcp_max_syn_backlog");
      expect(s.defaultValue).toMatch(/^max\(128, ehash entries \/ 128\)/);
      expect(s.defaultValue).toMatch(/max\(128, ehash entries \/ 256\) before/);
      expect(s.defaultValue).not.toMatch(/; ehash\/256 before/);
      expect(text(s)).toMatch(/tcp_sk_init\(\)/);
    },
  ],
  [
    "the kubelet offers ip_local_reserved_ports, tcp_keepalive_* and tcp_fin_timeout to pods only on kernels where they are per namespace",
    "kubernetes pkg/kubelet/sysctl/safe_sysctls.go (utilkernel.*NamespacedKernelVersion); Kubernetes docs for tcp_rmem/tcp_wmem (4.15)",
    () => {
      const gates = Object.fromEntries(
        ["ip_local_reserved_ports", "tcp_keepalive_time", "tcp_keepalive_intvl", "tcp_keepalive_probes", "tcp_fin_timeout", "tcp_rmem", "tcp_wmem"].map((k) => [
          k,
          spec(`net.ipv4.${k}`).kubeletSafeKernel,
        ]),
      );
      expect(gates).toEqual({
        ip_local_reserved_ports: "3.16",
        tcp_keepalive_time: "4.5",
        tcp_keepalive_intvl: "4.5",
        tcp_keepalive_probes: "4.5",
        tcp_fin_timeout: "4.6",
        tcp_rmem: "4.15",
        tcp_wmem: "4.15",
      });
      for (const k of ["ip_local_port_range", "tcp_syncookies", "ip_unprivileged_port_start"]) expect(spec(`net.ipv4.${k}`).kubeletSafeKernel).toBeUndefined();
    },
  ],
  [
    "tcp_keepalive_time and _intvl take a one-day 86400: 32767 bounds only the socket options, the sysctl's only ceiling is INT_MAX / HZ",
    "net/ipv4/sysctl_net_ipv4.c ipv4_net_table: proc_dointvec_jiffies without extra1/extra2; MAX_TCP_KEEPIDLE/KEEPINTVL are checked in do_tcp_setsockopt() only",
    () => {
      for (const k of ["net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_keepalive_intvl"]) {
        expect(takes(k, "86400"), k).toBe(true);
        expect(takes(k, "32768"), k).toBe(true);
        expect(takes(k, "2147483"), k).toBe(true);
        expect(takes(k, "2147484"), `${k}: above INT_MAX / 1000, which a HZ=1000 kernel refuses`).toBe(false);
        expect(takes(k, "0"), k).toBe(false);
      }
    },
  ],
  [
    "tcp_keepalive_probes is a u8 on current kernels: 255 is accepted, 256 refused; 127 is the socket option's limit",
    "net/ipv4/sysctl_net_ipv4.c ipv4_net_table: proc_dou8vec_minmax without extra2 (4ecc1baf362c, 5.13); MAX_TCP_KEEPCNT applies in do_tcp_setsockopt() only",
    () => {
      const k = "net.ipv4.tcp_keepalive_probes";
      expect(takes(k, "255")).toBe(true);
      expect(takes(k, "128")).toBe(true);
      expect(takes(k, "256")).toBe(false);
      expect(text(spec(k))).toMatch(/4ecc1baf362c/);
    },
  ],
  [
    "nf_conntrack_tcp_timeout_time_wait (like every seconds-to-jiffies key) stops at INT_MAX / HZ; the catalog takes 2147483, the ceiling at HZ=1000",
    "net/netfilter/nf_conntrack_standalone.c nf_ct_sysctl_table: proc_dointvec_jiffies; kernel/sysctl.c do_proc_dointvec_jiffies_conv() refuses more than INT_MAX / HZ",
    () => {
      for (const k of [
        "net.netfilter.nf_conntrack_tcp_timeout_time_wait",
        "net.ipv4.tcp_fin_timeout",
        "net.ipv4.tcp_keepalive_time",
        "net.ipv4.tcp_keepalive_intvl",
      ]) {
        expect(takes(k, String(Math.floor(2147483647 / 1000))), k).toBe(true);
        expect(takes(k, String(Math.floor(2147483647 / 1000) + 1)), k).toBe(false);
        expect(takes(k, "2147483647"), k).toBe(false);
      }
    },
  ],
  [
    "tcp_rmem fields below 4096 are refused: a 6.18 kernel refuses them (tcp_wmem still takes 1), so no policy may ask for them",
    "measured on 6.18.44 in a network namespace (test/agent/catalog-kernel.test.ts); upstream ipv4_net_table up to the trees we read: proc_dointvec_minmax, extra1 = SYSCTL_ONE (356d1833b638, 4.15)",
    () => {
      expect(takes("net.ipv4.tcp_rmem", "4096 131072 6291456")).toBe(true);
      expect(takes("net.ipv4.tcp_rmem", "4095 131072 6291456")).toBe(false);
      expect(takes("net.ipv4.tcp_wmem", "1 16384 4194304")).toBe(true);
      expect(spec("net.ipv4.tcp_rmem").hazards.join(" ")).toMatch(/fields before the bad one written/);
    },
  ],
  [
    "tcp_syn_linear_timeouts (6.5+) is in the catalog, 0..127, default 4, and tcp_syn_retries no longer says it adds retries",
    'commit ccce324dabfe "tcp: make the first N SYN RTO backoffs linear" (6.5): ipv4_net_table proc_dou8vec_minmax, extra2 = MAX_TCP_SYNCNT',
    () => {
      const s = spec("net.ipv4.tcp_syn_linear_timeouts");
      expect(s).toMatchObject({ since: "6.5", perNetnsSince: "6.5", defaultValue: "4", grammar: { kind: "int", min: 0, max: 127 } });
      expect(s.sinceRef).toMatch(/ccce324dabfe/);
      expect(takes("net.ipv4.tcp_syn_linear_timeouts", "128")).toBe(false);
      expect(spec("net.ipv4.tcp_syn_retries").hazards.join(" ")).not.toMatch(/N\+4/);
    },
  ],
];

describe("catalog corrections, each pinned to its source", () => {
  it.each(CORRECTIONS)("%s (%s)", (_correction, _source, check) => check());
});
