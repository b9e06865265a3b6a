import type { KernelBounds, Reference, SysctlSpec } from "./catalog-types.js";

export type { EnumValue, KernelBounds, KernelLimit, NetnsScope, Reference, SysctlSpec, ValueGrammar } from "./catalog-types.js";

/**
 * The sysctl catalog: everything the project knows about the TCP/IP keys in scope, as data.
 * Seeded from docs/kernel-facts.md (checked against kernel sources 2.6.32 to 6.18,
 * Documentation/networking/ip-sysctl.rst and the commits named), corrected from a source audit
 * (issue 15, test/unit/rules/catalog-corrections.test.ts), and checked against the running kernel
 * by test/agent/catalog-kernel.test.ts. Rules read this table; the agent writes only keys listed here.
 */

const IP_SYSCTL: Reference = {
  title: "Documentation/networking/ip-sysctl.rst",
  url: "https://docs.kernel.org/networking/ip-sysctl.html",
};
const MAN_TCP: Reference = { title: "man 7 tcp", url: "https://man7.org/linux/man-pages/man7/tcp.7.html" };
const TCP_H: Reference = { title: "include/net/tcp.h (TCP_TIMEWAIT_LEN = 60 s)" };
const NF_SYSCTL: Reference = {
  title: "Documentation/networking/nf_conntrack-sysctl.rst",
  url: "https://docs.kernel.org/networking/nf_conntrack-sysctl.html",
};
const K8S_SYSCTLS: Reference = {
  title: "Kubernetes: Using sysctls in a Kubernetes Cluster (safe set)",
  url: "https://kubernetes.io/docs/tasks/administer-cluster/sysctl-cluster/",
};
const INT_MAX = 2147483647;
/**
 * The ceiling of keys the kernel turns from seconds into jiffies (proc_dointvec_jiffies refuses more
 * than INT_MAX / HZ). HZ is a build option (100, 250, 300 or 1000 on the architectures Kubernetes
 * runs on); the catalog takes the ceiling of the fastest tick, which every build accepts: 2147483 s
 * (24.8 days). No timeout needs more, and the agent never attempts a write that some kernel refuses.
 */
const JIFFIES_CEILING = Math.floor(INT_MAX / 1000);
const IPV4_TABLE = "net/ipv4/sysctl_net_ipv4.c, ipv4_net_table";
const U8_COMMIT = "4ecc1baf362c (tcp: convert elligible sysctls to u8, 5.13; backported to 5.10.178)";
const JIFFIES_SOURCE =
  "proc_dointvec_jiffies (kernel/sysctl.c, do_proc_dointvec_jiffies_conv): no bounds of its own but the value times HZ must fit an int, so more than INT_MAX / HZ is refused";
const JIFFIES_STRICTER = `The kernel takes 0 and negative values (proc_dointvec_jiffies has no lower bound) and up to INT_MAX / HZ seconds (8589934 at HZ=250, 2147483 at HZ=1000); the catalog refuses 0 and negatives, and stops at ${JIFFIES_CEILING}, the ceiling every HZ accepts.`;
/** Kernels from 5.13 store these as u8 (0..255, no other bound); older ones stored an int and took any value. */
function u8OrInt(table: string): KernelBounds[] {
  return [
    { since: "5.13", type: "u8", source: `${table}: proc_dou8vec_minmax without extra1/extra2 (${U8_COMMIT})` },
    { before: "5.13", type: "int", source: `${table}: proc_dointvec, no bounds` },
  ];
}
/** Where the kubelet gates safe sysctls by kernel version. */
const KUBELET_SAFE_REF = "kubernetes pkg/kubelet/sysctl/safe_sysctls.go (safeSysctls, utilkernel.*NamespacedKernelVersion)";

export const CATALOG: readonly SysctlSpec[] = [
  {
    name: "net.ipv4.tcp_tw_reuse",
    summary: "Let connect() reuse a TIME_WAIT socket for a new outgoing connection when timestamps prove it safe.",
    grammar: {
      kind: "enum",
      values: [
        { value: 0, meaning: "off" },
        { value: 1, meaning: "on for all outgoing connections" },
        {
          value: 2,
          meaning: "on for loopback traffic only",
          since: "4.18",
          sinceRef: "commit 79e9fed46038",
          olderKernels: "older kernels accept 2 but treat any non-zero value as 1, reuse for ALL outgoing connections",
        },
      ],
    },
    defaultValue: "0 up to 4.17; 2 from 4.18",
    perNetnsSince: "4.10",
    netns: "per-netns-default",
    hazards: [
      "Only connect() (the client side) is affected; accepted connections never reuse TIME_WAIT.",
      "Needs TCP timestamps on the old connection: with tcp_timestamps=0 nothing is reused, silently.",
      "Reuse happens after 1-2 s (<= 4.18), (0,1] s (4.19-6.13), tcp_tw_reuse_delay ms (6.14+).",
      "Before 4.18 any non-zero value meant 'on for all'.",
      "A TIME_WAIT socket in the FIN_WAIT2 substate is never reused (0d9e5df4a257, backported).",
    ],
    references: [
      IP_SYSCTL,
      { title: "commit 79e9fed46038 (tcp_tw_reuse=2, loopback only, 4.18)" },
      { title: "commit 0d9e5df4a257 (no reuse of FIN_WAIT2-substate TIME_WAIT)" },
    ],
    kernel: [
      {
        since: "4.18",
        type: "u8",
        min: 0,
        max: 2,
        source: `${IPV4_TABLE}: proc_dou8vec_minmax, extra1 = SYSCTL_ZERO, extra2 = SYSCTL_TWO (an int with the same bounds from 79e9fed46038 in 4.18 to 5.12)`,
      },
      { before: "4.18", type: "int", source: "net/ipv4/sysctl_net_ipv4.c: proc_dointvec, no bounds" },
    ],
    stricterThanKernel: "Before 4.18 the kernel takes any integer and treats every non-zero value as 1; the catalog keeps to the documented 0, 1 and 2.",
  },
  {
    name: "net.ipv4.tcp_tw_reuse_delay",
    summary: "Milliseconds a TIME_WAIT socket must age before tcp_tw_reuse may reuse it.",
    grammar: { kind: "int", min: 1, max: 60000, unit: "ms" },
    defaultValue: "1000",
    since: "6.14",
    sinceRef: "commits ca6a6f93867a, 19ce8cd30465",
    perNetnsSince: "6.14",
    netns: "per-netns-default",
    hazards: ["Shorter than the peer's timestamp clock tick and PAWS can no longer reject old duplicates."],
    references: [IP_SYSCTL, { title: "commit ca6a6f93867a (tcp_tw_reuse_delay)" }, { title: "commit 19ce8cd30465" }],
    kernel: [
      {
        since: "6.14",
        type: "uint",
        min: 1,
        max: 60000,
        source: `${IPV4_TABLE}: proc_douintvec_minmax, extra1 = SYSCTL_ONE, extra2 = tcp_tw_reuse_delay_max (TCP_PAWS_MSL * MSEC_PER_SEC) (ca6a6f93867a)`,
      },
    ],
  },
  {
    name: "net.ipv4.tcp_tw_recycle",
    summary: "Removed: fast TIME_WAIT recycling with a per-peer-address PAWS cache.",
    grammar: {
      kind: "enum",
      values: [
        { value: 0, meaning: "off" },
        { value: 1, meaning: "on (unsafe: drops SYNs from NATed clients and clients with per-connection timestamp offsets)" },
      ],
    },
    defaultValue: "0",
    absentEquivalent: "0",
    removedIn: "4.12",
    removedRef: 'commit 4396e46187ca "tcp: remove tcp_tw_recycle"',
    perNetnsSince: "4.11",
    netns: "per-netns-default",
    hazards: [
      "Per-peer-address PAWS cache (tcp_peer_is_proven, 60 s): SYNs from hosts sharing one address (NAT, CGNAT, LVS-NAT, SNAT proxies, kube-proxy SNAT) with a lower TSval are dropped (PAWSPassive).",
      "Broken against peers that offset timestamps per connection: 4.10.0 (95a22caee396) and kernels carrying 165573e41f2f (7.0, stable 6.12.y, 6.18.17+, 6.19.y), even with no NAT in the path.",
      "Removed in 4.12: `sysctl -p` then fails with 'cannot stat'.",
      "With timestamps off it never arms (TIME_WAIT stays 60 s).",
    ],
    references: [
      { title: 'commit 4396e46187ca "tcp: remove tcp_tw_recycle" (4.12)' },
      { title: "commit 95a22caee396 (per-connection timestamp offsets, 4.10)" },
      { title: "commit 28ee1b746f49 (per-host offsets again, 4.11, 4.10.17)" },
      { title: "commit 165573e41f2f (per-4-tuple offsets, 7.0, 6.12.y, 6.18.17+, 6.19.y)" },
      { title: "RFC 7323 section 5 (PAWS)", url: "https://www.rfc-editor.org/rfc/rfc7323#section-5" },
    ],
    kernel: [{ before: "4.12", type: "int", source: "net/ipv4/sysctl_net_ipv4.c: proc_dointvec, no bounds" }],
    stricterThanKernel: "The kernel took any integer as on/off; the catalog keeps to 0 and 1.",
  },
  {
    name: "net.ipv4.tcp_timestamps",
    summary: "TCP timestamps option (RFC 7323): PAWS, RTT samples, and what tcp_tw_reuse relies on.",
    grammar: {
      kind: "enum",
      values: [
        { value: 0, meaning: "off" },
        { value: 1, meaning: "on, with a random offset" },
        {
          value: 2,
          meaning: "on, without a random offset",
          since: "4.10",
          sinceRef: "commit 25429d7b7dca",
          // Warn, not deny: before 4.10 the sysctl is a plain int read as a boolean, so 2 means "on",
          // and those kernels add no random offset to timestamps at all (per-connection offsets came
          // with 95a22caee396 in 4.10). The node ends up with timestamps on and no offset: what 2 asks.
          // Contrast tcp_tw_reuse=2 before 4.18, which reuses for ALL connections, not loopback only: deny.
          olderKernels:
            "older kernels have no value 2 but accept it as 'on'; they add no random offset to timestamps anyway (offsets arrived in 4.10 with 95a22caee396), so the effect is the same",
          onOlderKernels: "warn",
        },
      ],
    },
    defaultValue: "1",
    perNetnsSince: "4.13",
    netns: "per-netns-default",
    hazards: [
      "0 drops the option from every connection: PAWS (protection against wrapped sequence numbers), RTT samples taken from timestamp echoes (RTT is still measured from ACK timing, tcp_ack_update_rtt() in net/ipv4/tcp_input.c, but not for retransmitted data, which Karn's rule skips), and the tcp_tw_reuse safety check, so nothing is reused.",
      "The offset is keyed per 4-tuple (4.10.0), per address pair (4.11+, 28ee1b746f49), per 4-tuple again from 165573e41f2f (7.0, 6.12.y, 6.18.17+, 6.19.y).",
      "The kernel accepts 3 (u8, no bounds; acts like 2); the catalog refuses undocumented values.",
    ],
    references: [
      IP_SYSCTL,
      { title: "commit 25429d7b7dca (tcp_timestamps=2, 4.10)" },
      { title: "RFC 7323", url: "https://www.rfc-editor.org/rfc/rfc7323" },
      { title: "net/ipv4/tcp_input.c tcp_ack_update_rtt(): RTT from timestamps when present, else from the ACK of never-retransmitted data" },
    ],
    kernel: u8OrInt(IPV4_TABLE),
    stricterThanKernel: "The kernel takes any value of its type (3 acts like 2); the catalog refuses undocumented values.",
  },
  {
    name: "net.ipv4.tcp_max_tw_buckets",
    summary: "Most TIME_WAIT sockets the namespace holds; beyond it closing sockets skip TIME_WAIT.",
    grammar: { kind: "int", min: 0, max: INT_MAX },
    defaultValue: "ehash/2, at most 262144 (180000 in 2.6.32)",
    perNetnsSince: "4.11",
    netns: "per-netns-default",
    hazards: [
      "Too small: new closes skip TIME_WAIT (TCPTimeWaitOverflow counts them) and old duplicates can reach new connections; existing TIME_WAIT sockets are not purged.",
      "The kernel accepts -1 (plain int); the catalog refuses negatives.",
    ],
    references: [IP_SYSCTL, TCP_H],
    kernel: [{ type: "int", source: `${IPV4_TABLE}: proc_dointvec, no bounds` }],
    stricterThanKernel: "The kernel takes negative values (a plain int); the catalog refuses them.",
  },
  {
    name: "net.ipv4.tcp_fin_timeout",
    summary: "Seconds an orphaned socket may stay in FIN_WAIT2.",
    grammar: { kind: "int", min: 1, max: JIFFIES_CEILING, unit: "s" },
    defaultValue: "60",
    perNetnsSince: "4.6",
    netns: "per-netns-default",
    kubeletSafeSince: "1.29",
    kubeletSafeKernel: "4.6",
    kubeletSafeKernelRef: `${KUBELET_SAFE_REF}: TCPFinTimeoutNamespacedKernelVersion`,
    hazards: ["It does NOT shorten TIME_WAIT (60 s, TCP_TIMEWAIT_LEN, not tunable); it only bounds orphaned FIN_WAIT2 sockets."],
    references: [IP_SYSCTL, TCP_H, MAN_TCP],
    kernel: [{ type: "int", max: "INT_MAX/HZ", source: `${IPV4_TABLE}: ${JIFFIES_SOURCE}` }],
    stricterThanKernel: JIFFIES_STRICTER,
  },
  {
    name: "net.ipv4.ip_local_port_range",
    summary: "Ephemeral ports for outgoing connections (and bind to port 0).",
    grammar: { kind: "range", min: 1, max: 65535 },
    defaultValue: "32768 60999 (32768 61000 up to 4.1)",
    perNetnsSince: "3.13",
    netns: "per-netns-default",
    kubeletSafeSince: "1.4",
    hazards: [
      "From 4.11 (4548b683b781) low must be at least ip_unprivileged_port_start (1024 by default) and the kernel refuses lower; older kernels have no such key and take any low port from 1.",
      "low and high of the same parity make the kernel log 'prefer different parity'.",
      "Overlap with ports that listen on the node (Kubernetes NodePort range 30000-32767, kubelet 10250) can steal them: protect those with ip_local_reserved_ports.",
    ],
    references: [
      IP_SYSCTL,
      {
        title: "Kubernetes Service NodePort range (--service-node-port-range, default 30000-32767)",
        url: "https://kubernetes.io/docs/concepts/services-networking/service/#type-nodeport",
      },
    ],
    kernel: [
      {
        type: "int",
        min: 1,
        max: 65535,
        source:
          "net/ipv4/sysctl_net_ipv4.c ipv4_local_port_range(): proc_dointvec_minmax on a copy with extra1/extra2 {1, 1}/{65535, 65535}; refuses high < low and (4.11+, 4548b683b781) low < ip_unprivileged_port_start; nothing is stored unless the whole value passes",
      },
    ],
  },
  {
    name: "net.ipv4.ip_local_reserved_ports",
    summary: "Ports and ranges never chosen automatically as ephemeral ports.",
    grammar: { kind: "portList", min: 1, max: 65535 },
    defaultValue: "(empty)",
    since: "2.6.35",
    sinceRef: "ip-sysctl.rst; present from 2.6.35 (kernel-facts.md)",
    perNetnsSince: "3.16",
    netns: "per-netns-default",
    kubeletSafeSince: "1.27",
    kubeletSafeKernel: "3.16",
    kubeletSafeKernelRef: `${KUBELET_SAFE_REF}: IPLocalReservedPortsNamespacedKernelVersion`,
    hazards: [
      "Only affects automatic port choice; explicit binds still succeed.",
      "Reserving the whole ip_local_port_range leaves connect() no port: it fails with EADDRNOTAVAIL (TT023).",
    ],
    references: [IP_SYSCTL],
    kernel: [
      {
        type: "uint",
        min: 0,
        max: 65535,
        source: "net/ipv4/sysctl_net_ipv4.c ip_local_reserved_ports: proc_do_large_bitmap over a 65536-bit bitmap (kernel/sysctl.c)",
      },
    ],
    stricterThanKernel: "The kernel takes port 0, which is never an ephemeral port anyway; the catalog refuses it.",
  },
  {
    name: "net.ipv4.ip_unprivileged_port_start",
    summary: "Lowest port an unprivileged process may bind; ip_local_port_range may not start below it.",
    grammar: { kind: "int", min: 0, max: 65535 },
    defaultValue: "1024",
    since: "4.11",
    sinceRef: "commit 4548b683b781",
    perNetnsSince: "4.11",
    netns: "per-netns-default",
    kubeletSafeSince: "1.22",
    hazards: [
      "0 lets any process bind any port, 22 and 443 included (TT024).",
      "Raising it above 1024 makes non-root listeners on the ports below it fail to bind (EACCES), and the kernel refuses a start above ip_local_port_range's low port (TT020, TT024).",
    ],
    references: [IP_SYSCTL],
    kernel: [
      {
        since: "4.11",
        type: "int",
        min: 0,
        max: 65535,
        source:
          "net/ipv4/sysctl_net_ipv4.c ipv4_privileged_ports(): proc_dointvec_minmax 0..65535; refuses a start above ip_local_port_range's low port (4548b683b781)",
      },
    ],
  },
  {
    name: "net.ipv4.tcp_syn_retries",
    summary: "SYN retransmissions for an active open before giving up.",
    grammar: { kind: "int", min: 1, max: 127 },
    defaultValue: "6 (5 up to 3.6)",
    perNetnsSince: "4.6",
    netns: "per-netns-default",
    hazards: [
      "From 6.5 the first tcp_syn_linear_timeouts (default 4) retransmissions wait the initial RTO each instead of doubling it, so N retries give up sooner than the doubling formula says.",
    ],
    references: [IP_SYSCTL, MAN_TCP],
    kernel: [
      {
        since: "5.13",
        type: "u8",
        min: 1,
        max: 127,
        source: `${IPV4_TABLE}: proc_dou8vec_minmax, extra1 = tcp_syn_retries_min (1), extra2 = tcp_syn_retries_max (MAX_TCP_SYNCNT = 127)`,
      },
    ],
  },
  {
    name: "net.ipv4.tcp_syn_linear_timeouts",
    summary: "SYN retransmissions of an active open that wait the initial RTO each, before the timeout starts doubling.",
    grammar: { kind: "int", min: 0, max: 127 },
    defaultValue: "4",
    since: "6.5",
    sinceRef: 'commit ccce324dabfe "tcp: make the first N SYN RTO backoffs linear"',
    perNetnsSince: "6.5",
    netns: "per-netns-default",
    hazards: [
      "Affects the SYNs of connect() only, not SYN-ACKs: the first N retransmissions wait the initial RTO (1 s) each instead of doubling it, so connect() retries sooner and gives up sooner than the doubling formula for tcp_syn_retries says.",
    ],
    references: [IP_SYSCTL, { title: 'commit ccce324dabfe "tcp: make the first N SYN RTO backoffs linear" (6.5)' }],
    kernel: [
      {
        since: "6.5",
        type: "u8",
        min: 0,
        max: 127,
        source: `${IPV4_TABLE}: proc_dou8vec_minmax, extra1 = SYSCTL_ZERO, extra2 = tcp_syn_linear_timeouts_max (MAX_TCP_SYNCNT = 127) (ccce324dabfe)`,
      },
    ],
  },
  {
    name: "net.ipv4.tcp_synack_retries",
    summary: "SYN-ACK retransmissions for a passive open: the server's half-open lifetime.",
    grammar: { kind: "int", min: 0, max: 255 },
    defaultValue: "5",
    perNetnsSince: "4.6",
    netns: "per-netns-default",
    hazards: ["0 never retransmits a SYN-ACK: one lost SYN-ACK fails the handshake (TT034)."],
    references: [IP_SYSCTL],
    kernel: u8OrInt(IPV4_TABLE),
    stricterThanKernel: "Kernels before 5.13 stored an int and took any value; the catalog stops at 255, the most later kernels take.",
  },
  {
    name: "net.ipv4.tcp_retries2",
    summary: "Retransmissions of data before an established connection is given up.",
    grammar: { kind: "int", min: 0, max: 255 },
    defaultValue: "15 (about 924 s)",
    perNetnsSince: "4.6",
    netns: "per-netns-default",
    hazards: [
      "RFC 1122 wants at least 100 s; below 8 connections break on lossy paths.",
      "A dead peer behind NAT holds the connection about 15 minutes at the default.",
    ],
    references: [IP_SYSCTL, { title: "RFC 1122 section 4.2.3.5", url: "https://www.rfc-editor.org/rfc/rfc1122#section-4.2.3.5" }],
    kernel: u8OrInt(IPV4_TABLE),
    stricterThanKernel: "Kernels before 5.13 stored an int and took any value; the catalog stops at 255, the most later kernels take.",
  },
  {
    name: "net.ipv4.tcp_orphan_retries",
    summary: "Retries before an orphaned (closed by the application) connection is killed.",
    grammar: { kind: "int", min: 0, max: 255 },
    defaultValue: "0 (treated as 8)",
    perNetnsSince: "4.6",
    netns: "per-netns-default",
    hazards: [],
    references: [IP_SYSCTL],
    kernel: u8OrInt(IPV4_TABLE),
    stricterThanKernel: "Kernels before 5.13 stored an int and took any value; the catalog stops at 255, the most later kernels take.",
  },
  {
    name: "net.ipv4.tcp_max_syn_backlog",
    summary: "Most half-open connection requests remembered per listener.",
    grammar: { kind: "int", min: 0, max: INT_MAX },
    defaultValue: "max(128, ehash entries / 128) from 5.4; max(128, ehash entries / 256) before (the floor of 128 always applies)",
    perNetnsSince: "4.11",
    netns: "per-netns-default",
    hazards: ["Capped by net.core.somaxconn per listener."],
    references: [
      IP_SYSCTL,
      {
        title:
          "net/ipv4/tcp_ipv4.c tcp_sk_init() / tcp_set_hashinfo(): sysctl_max_syn_backlog = max(128, ehash entries / 128); tcp_init() in net/ipv4/tcp.c before 4.11 and tcp_sk_init() before 5.4: max(128, cnt / 256)",
      },
    ],
    kernel: [{ type: "int", source: `${IPV4_TABLE}: proc_dointvec, no bounds` }],
    stricterThanKernel: "The kernel takes negative values (a plain int); the catalog refuses them.",
  },
  {
    name: "net.core.somaxconn",
    summary: "Upper bound of a listen() backlog.",
    grammar: { kind: "int", min: 0, max: INT_MAX },
    defaultValue: "4096 from 5.4 (19f92a030ca6); 128 before",
    netns: "per-netns-default",
    perNetnsSince: "2.6.32",
    limits: [
      {
        before: "4.1",
        max: 65535,
        why: "the listen backlog (sk_max_ack_backlog) was a u16 before 4.1, so the kernel capped somaxconn at 65535 and refused larger values",
      },
    ],
    hazards: ["Up to 4.0 the kernel caps it at 65535 and refuses larger values."],
    references: [
      { title: "Documentation/networking/net-sysctl or sysctl/net.rst (somaxconn)", url: "https://docs.kernel.org/admin-guide/sysctl/net.html" },
      { title: "commit 19f92a030ca6 (default 4096, 5.4)" },
    ],
    kernel: [
      { since: "4.1", type: "int", min: 0, source: "net/core/sysctl_net_core.c netns_core_table: proc_dointvec_minmax, extra1 = SYSCTL_ZERO" },
      {
        before: "4.1",
        type: "int",
        min: 0,
        max: 65535,
        source: "net/core/sysctl_net_core.c: proc_dointvec_minmax, extra2 = ushort_max (the backlog was a u16)",
      },
    ],
  },
  {
    name: "net.ipv4.tcp_syncookies",
    summary: "SYN cookies when the SYN queue overflows.",
    grammar: {
      kind: "enum",
      values: [
        { value: 0, meaning: "off" },
        { value: 1, meaning: "on when the SYN queue overflows" },
        { value: 2, meaning: "always (for testing)" },
      ],
    },
    defaultValue: "1",
    perNetnsSince: "4.6",
    netns: "per-netns-default",
    kubeletSafeSince: "1.4",
    hazards: [
      "2 sends cookies unconditionally; cookies drop TCP options (window scaling, SACK) unless timestamps carry them.",
      "0 leaves a listener with no defence against a SYN flood: once its SYN queue is full, new connections are dropped (TT035).",
    ],
    references: [IP_SYSCTL],
    kernel: u8OrInt(IPV4_TABLE),
    stricterThanKernel: "The kernel takes any value of its type; the catalog keeps to the documented 0, 1 and 2.",
  },
  {
    name: "net.ipv4.tcp_keepalive_time",
    summary: "Idle seconds before the first keepalive probe.",
    grammar: { kind: "int", min: 1, max: JIFFIES_CEILING, unit: "s" },
    defaultValue: "7200",
    perNetnsSince: "4.5",
    netns: "per-netns-default",
    kubeletSafeSince: "1.29",
    kubeletSafeKernel: "4.5",
    kubeletSafeKernelRef: `${KUBELET_SAFE_REF}: TCPKeepAliveTimeNamespacedKernelVersion`,
    hazards: [
      "7200 s exceeds most NAT and load-balancer idle timeouts (AWS NAT gateway 350 s, Azure load balancer and NAT gateway 4 min, GCP Cloud NAT 1200 s for established TCP).",
      "MAX_TCP_KEEPIDLE (32767) bounds only the TCP_KEEPIDLE socket option, not this sysctl: a one-day 86400 is accepted.",
    ],
    references: [
      IP_SYSCTL,
      MAN_TCP,
      { title: `${IPV4_TABLE}: tcp_keepalive_time is proc_dointvec_jiffies, no min/max (MAX_TCP_KEEPIDLE in include/net/tcp.h applies to setsockopt only)` },
    ],
    kernel: [{ type: "int", max: "INT_MAX/HZ", source: `${IPV4_TABLE}: ${JIFFIES_SOURCE}` }],
    stricterThanKernel: JIFFIES_STRICTER,
  },
  {
    name: "net.ipv4.tcp_keepalive_intvl",
    summary: "Seconds between keepalive probes.",
    grammar: { kind: "int", min: 1, max: JIFFIES_CEILING, unit: "s" },
    defaultValue: "75",
    perNetnsSince: "4.5",
    netns: "per-netns-default",
    kubeletSafeSince: "1.29",
    kubeletSafeKernel: "4.5",
    kubeletSafeKernelRef: `${KUBELET_SAFE_REF}: TCPKeepAliveIntervalNamespacedKernelVersion`,
    hazards: ["MAX_TCP_KEEPINTVL (32767) bounds only the TCP_KEEPINTVL socket option, not this sysctl."],
    references: [IP_SYSCTL, MAN_TCP, { title: `${IPV4_TABLE}: tcp_keepalive_intvl is proc_dointvec_jiffies, no min/max` }],
    kernel: [{ type: "int", max: "INT_MAX/HZ", source: `${IPV4_TABLE}: ${JIFFIES_SOURCE}` }],
    stricterThanKernel: JIFFIES_STRICTER,
  },
  {
    name: "net.ipv4.tcp_keepalive_probes",
    summary: "Unanswered keepalive probes before the connection is dropped.",
    grammar: { kind: "int", min: 1, max: 255 },
    defaultValue: "9",
    perNetnsSince: "4.5",
    netns: "per-netns-default",
    kubeletSafeSince: "1.29",
    kubeletSafeKernel: "4.5",
    kubeletSafeKernelRef: `${KUBELET_SAFE_REF}: TCPKeepAliveProbesNamespacedKernelVersion`,
    hazards: ["From 5.13 the kernel stores it in a u8: 255 is accepted, 256 refused. MAX_TCP_KEEPCNT (127) bounds only the TCP_KEEPCNT socket option."],
    references: [IP_SYSCTL, MAN_TCP, { title: `${IPV4_TABLE}: tcp_keepalive_probes is proc_dou8vec_minmax without bounds (${U8_COMMIT})` }],
    kernel: u8OrInt(IPV4_TABLE),
    stricterThanKernel:
      "The kernel takes 0 (the connection is dropped at the first keepalive timeout, unprobed), and kernels before 5.13 any integer; the catalog asks for 1..255.",
  },
  {
    name: "net.ipv4.tcp_rfc1337",
    summary: "Protect TIME_WAIT sockets from RST (RFC 1337 'TIME_WAIT assassination').",
    grammar: {
      kind: "enum",
      values: [
        { value: 0, meaning: "an in-window RST kills a TIME_WAIT socket" },
        { value: 1, meaning: "RSTs in TIME_WAIT are dropped" },
      ],
    },
    defaultValue: "0",
    perNetnsSince: "4.15",
    netns: "per-netns-default",
    hazards: [],
    references: [IP_SYSCTL, { title: "RFC 1337", url: "https://www.rfc-editor.org/rfc/rfc1337" }],
    kernel: u8OrInt(IPV4_TABLE),
    stricterThanKernel: "The kernel takes any value of its type as on/off; the catalog keeps to 0 and 1.",
  },
  {
    name: "net.ipv4.tcp_rmem",
    summary: "TCP receive buffer: min, default, max bytes.",
    grammar: { kind: "triple", min: 4096, max: INT_MAX, unit: "bytes" },
    defaultValue: "4096 131072 6291456 (4.19+)",
    perNetnsSince: "4.15",
    netns: "per-netns-copied",
    kubeletSafeSince: "1.32",
    kubeletSafeKernel: "4.15",
    kubeletSafeKernelRef: "Kubernetes docs, Using sysctls in a Kubernetes Cluster: tcp_rmem and tcp_wmem are safe from kernel 4.15",
    hazards: [
      "A new network namespace copies the host's values once, at creation; later host changes do not reach existing pods.",
      "A 6.18 kernel (6.18.44 measured) refuses every field below 4096; older ones take 1. The kernel stores fields one by one: a refused write leaves the fields before the bad one written.",
    ],
    references: [IP_SYSCTL, { title: "commit 356d1833b638 (tcp: Namespace-ify sysctl_tcp_rmem and sysctl_tcp_wmem, 4.15)" }],
    kernel: [
      {
        since: "6.18",
        type: "int",
        min: 4096,
        partialWrites: true,
        source:
          "measured on 6.18.44 in a network namespace: every field below 4096 refused with EINVAL, earlier fields kept (tcp_wmem still takes 1); the change is not in the upstream trees we could read (ipv4_net_table there: proc_dointvec_minmax, extra1 = SYSCTL_ONE), so 6.18 is where it was seen, not where it began",
      },
      {
        since: "4.15",
        before: "6.18",
        type: "int",
        min: 1,
        partialWrites: true,
        source: `${IPV4_TABLE}: proc_dointvec_minmax, extra1 = SYSCTL_ONE (356d1833b638, 4.15)`,
      },
    ],
    stricterThanKernel:
      "Kernels before 6.18 take fields from 1; the catalog asks for 4096 (the kernel's own default minimum, and what 6.18 enforces) so one policy holds on every kernel.",
  },
  {
    name: "net.ipv4.tcp_wmem",
    summary: "TCP send buffer: min, default, max bytes.",
    grammar: { kind: "triple", min: 1, max: INT_MAX, unit: "bytes" },
    defaultValue: "4096 16384 4194304",
    perNetnsSince: "4.15",
    netns: "per-netns-copied",
    kubeletSafeSince: "1.32",
    kubeletSafeKernel: "4.15",
    kubeletSafeKernelRef: "Kubernetes docs, Using sysctls in a Kubernetes Cluster: tcp_rmem and tcp_wmem are safe from kernel 4.15",
    hazards: [
      "A new network namespace copies the host's values once, at creation; later host changes do not reach existing pods.",
      "The kernel stores fields one by one: a refused write leaves the fields before the bad one written.",
    ],
    references: [IP_SYSCTL, { title: "commit 356d1833b638 (tcp: Namespace-ify sysctl_tcp_rmem and sysctl_tcp_wmem, 4.15)" }],
    kernel: [
      { since: "4.15", type: "int", min: 1, partialWrites: true, source: `${IPV4_TABLE}: proc_dointvec_minmax, extra1 = SYSCTL_ONE (356d1833b638, 4.15)` },
    ],
  },
  {
    name: "net.netfilter.nf_conntrack_max",
    summary: "Size of the connection tracking table.",
    grammar: { kind: "int", min: 0, max: INT_MAX },
    defaultValue: "RAM-based",
    netns: "global",
    requiresModule: "nf_conntrack",
    hazards: ["A full table drops new flows on NAT nodes.", "One value per host; exists only with nf_conntrack loaded."],
    references: [NF_SYSCTL],
    kernel: [{ type: "int", source: "net/netfilter/nf_conntrack_standalone.c nf_ct_sysctl_table: proc_dointvec (read-only outside the host namespace)" }],
    stricterThanKernel: "The kernel takes negative values (a plain int); the catalog refuses them.",
  },
  {
    name: "net.netfilter.nf_conntrack_tcp_timeout_time_wait",
    summary: "Seconds conntrack keeps a TIME_WAIT entry.",
    grammar: { kind: "int", min: 1, max: JIFFIES_CEILING, unit: "s" },
    defaultValue: "120",
    netns: "per-netns-default",
    requiresModule: "nf_conntrack",
    hazards: [
      "Outlives TCP's 60 s TIME_WAIT by default.",
      "Below 60 s on a node that NATs, a mapping can be handed to a new connection while the endpoint still holds TIME_WAIT for the old one.",
      "Exists only with nf_conntrack loaded.",
    ],
    references: [
      NF_SYSCTL,
      {
        title:
          "net/netfilter/nf_conntrack_standalone.c nf_ct_sysctl_table: nf_conntrack_tcp_timeout_time_wait is proc_dointvec_jiffies (more than INT_MAX / HZ refused)",
      },
    ],
    kernel: [{ type: "int", max: "INT_MAX/HZ", source: `net/netfilter/nf_conntrack_standalone.c nf_ct_sysctl_table: ${JIFFIES_SOURCE}` }],
    stricterThanKernel: JIFFIES_STRICTER,
  },
];

const BY_NAME: ReadonlyMap<string, SysctlSpec> = new Map(CATALOG.map((s) => [s.name, s]));

export function lookupSysctl(name: string): SysctlSpec | undefined {
  return BY_NAME.get(name);
}

export function catalogNames(): readonly string[] {
  return CATALOG.map((s) => s.name);
}

export const KUBERNETES_REFERENCE = K8S_SYSCTLS;
