import type { Reference, SysctlSpec } from "./catalog-types.js";

export type { EnumValue, KernelLimit, NetnsScope, Reference, SysctlSpec, ValueGrammar } from "./catalog-types.js";

/**
 * The sysctl catalog: everything the project knows about the TCP/IP keys in scope, as data.
 * Seeded from docs/kernel-facts.md (checked against kernel sources 2.6.32 to 6.18,
 * Documentation/networking/ip-sysctl.rst and the commits named). Rules read this table;
 * the agent writes only keys listed here.
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
    references: [IP_SYSCTL, { title: "commit 79e9fed46038 (tcp_tw_reuse=2, loopback only, 4.18)" }, { title: "commit 0d9e5df4a257 (no reuse of FIN_WAIT2-substate TIME_WAIT)" }],
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
  },
  {
    name: "net.ipv4.tcp_timestamps",
    summary: "TCP timestamps option (RFC 7323): PAWS, RTT measurement, and what tcp_tw_reuse relies on.",
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
      "0 disables PAWS, RTT measurement and tcp_tw_reuse.",
      "The offset is keyed per 4-tuple (4.10.0), per address pair (4.11+, 28ee1b746f49), per 4-tuple again from 165573e41f2f (7.0, 6.12.y, 6.18.17+, 6.19.y).",
      "The kernel accepts 3 (u8, no bounds; acts like 2); the catalog refuses undocumented values.",
    ],
    references: [IP_SYSCTL, { title: "commit 25429d7b7dca (tcp_timestamps=2, 4.10)" }, { title: "RFC 7323", url: "https://www.rfc-editor.org/rfc/rfc7323" }],
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
  },
  {
    name: "net.ipv4.tcp_fin_timeout",
    summary: "Seconds an orphaned socket may stay in FIN_WAIT2.",
    grammar: { kind: "int", min: 1, max: 2147483, unit: "s" },
    defaultValue: "60",
    perNetnsSince: "4.6",
    netns: "per-netns-default",
    kubeletSafeSince: "1.29",
    hazards: ["It does NOT shorten TIME_WAIT (60 s, TCP_TIMEWAIT_LEN, not tunable); it only bounds orphaned FIN_WAIT2 sockets."],
    references: [IP_SYSCTL, TCP_H, MAN_TCP],
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
      "low must be at least ip_unprivileged_port_start (1024 by default); the kernel refuses lower.",
      "low and high of the same parity make the kernel log 'prefer different parity'.",
      "Overlap with ports that listen on the node (Kubernetes NodePort range 30000-32767, kubelet 10250) can steal them: protect those with ip_local_reserved_ports.",
    ],
    references: [IP_SYSCTL, { title: "Kubernetes Service NodePort range (--service-node-port-range, default 30000-32767)", url: "https://kubernetes.io/docs/concepts/services-networking/service/#type-nodeport" }],
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
    hazards: ["Only affects automatic port choice; explicit binds still succeed."],
    references: [IP_SYSCTL],
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
    hazards: ["Lowering it lets any process bind privileged ports."],
    references: [IP_SYSCTL],
  },
  {
    name: "net.ipv4.tcp_syn_retries",
    summary: "SYN retransmissions for an active open before giving up.",
    grammar: { kind: "int", min: 1, max: 127 },
    defaultValue: "6 (5 up to 3.6)",
    perNetnsSince: "4.6",
    netns: "per-netns-default",
    hazards: ["From 6.5 tcp_syn_linear_timeouts (default 4) adds linear retries first: the total is N+4."],
    references: [IP_SYSCTL, MAN_TCP],
  },
  {
    name: "net.ipv4.tcp_synack_retries",
    summary: "SYN-ACK retransmissions for a passive open: the server's half-open lifetime.",
    grammar: { kind: "int", min: 0, max: 255 },
    defaultValue: "5",
    perNetnsSince: "4.6",
    netns: "per-netns-default",
    hazards: [],
    references: [IP_SYSCTL],
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
  },
  {
    name: "net.ipv4.tcp_max_syn_backlog",
    summary: "Most half-open connection requests remembered per listener.",
    grammar: { kind: "int", min: 0, max: INT_MAX },
    defaultValue: "max(128, ehash/128) from 5.4; ehash/256 before",
    perNetnsSince: "4.11",
    netns: "per-netns-default",
    hazards: ["Capped by net.core.somaxconn per listener."],
    references: [IP_SYSCTL],
  },
  {
    name: "net.core.somaxconn",
    summary: "Upper bound of a listen() backlog.",
    grammar: { kind: "int", min: 0, max: INT_MAX },
    defaultValue: "4096 from 5.4 (19f92a030ca6); 128 before",
    netns: "per-netns-default",
    perNetnsSince: "2.6.32",
    limits: [{ before: "4.1", max: 65535, why: "the listen backlog (sk_max_ack_backlog) was a u16 before 4.1, so the kernel capped somaxconn at 65535 and refused larger values" }],
    hazards: ["Up to 4.0 the kernel caps it at 65535 and refuses larger values."],
    references: [{ title: "Documentation/networking/net-sysctl or sysctl/net.rst (somaxconn)", url: "https://docs.kernel.org/admin-guide/sysctl/net.html" }, { title: "commit 19f92a030ca6 (default 4096, 5.4)" }],
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
    hazards: ["2 sends cookies unconditionally; cookies drop TCP options (window scaling, SACK) unless timestamps carry them."],
    references: [IP_SYSCTL],
  },
  {
    name: "net.ipv4.tcp_keepalive_time",
    summary: "Idle seconds before the first keepalive probe.",
    grammar: { kind: "int", min: 1, max: 32767, unit: "s" },
    defaultValue: "7200",
    perNetnsSince: "4.5",
    netns: "per-netns-default",
    kubeletSafeSince: "1.29",
    hazards: ["7200 s exceeds most NAT and load-balancer idle timeouts."],
    references: [IP_SYSCTL, MAN_TCP, { title: "include/net/tcp.h MAX_TCP_KEEPIDLE = 32767" }],
  },
  {
    name: "net.ipv4.tcp_keepalive_intvl",
    summary: "Seconds between keepalive probes.",
    grammar: { kind: "int", min: 1, max: 32767, unit: "s" },
    defaultValue: "75",
    perNetnsSince: "4.5",
    netns: "per-netns-default",
    kubeletSafeSince: "1.29",
    hazards: [],
    references: [IP_SYSCTL, MAN_TCP, { title: "include/net/tcp.h MAX_TCP_KEEPINTVL = 32767" }],
  },
  {
    name: "net.ipv4.tcp_keepalive_probes",
    summary: "Unanswered keepalive probes before the connection is dropped.",
    grammar: { kind: "int", min: 1, max: 127 },
    defaultValue: "9",
    perNetnsSince: "4.5",
    netns: "per-netns-default",
    kubeletSafeSince: "1.29",
    hazards: ["The kernel refuses 256 (u8); the socket option caps at MAX_TCP_KEEPCNT = 127, and so does the catalog."],
    references: [IP_SYSCTL, MAN_TCP, { title: "include/net/tcp.h MAX_TCP_KEEPCNT = 127" }],
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
  },
  {
    name: "net.ipv4.tcp_rmem",
    summary: "TCP receive buffer: min, default, max bytes.",
    grammar: { kind: "triple", min: 1, max: INT_MAX, unit: "bytes" },
    defaultValue: "4096 131072 6291456 (4.19+)",
    perNetnsSince: "4.15",
    netns: "per-netns-copied",
    kubeletSafeSince: "1.32",
    hazards: ["A new network namespace copies the host's values once, at creation; later host changes do not reach existing pods."],
    references: [IP_SYSCTL],
  },
  {
    name: "net.ipv4.tcp_wmem",
    summary: "TCP send buffer: min, default, max bytes.",
    grammar: { kind: "triple", min: 1, max: INT_MAX, unit: "bytes" },
    defaultValue: "4096 16384 4194304",
    perNetnsSince: "4.15",
    netns: "per-netns-copied",
    kubeletSafeSince: "1.32",
    hazards: ["A new network namespace copies the host's values once, at creation; later host changes do not reach existing pods."],
    references: [IP_SYSCTL],
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
  },
  {
    name: "net.netfilter.nf_conntrack_tcp_timeout_time_wait",
    summary: "Seconds conntrack keeps a TIME_WAIT entry.",
    grammar: { kind: "int", min: 1, max: INT_MAX, unit: "s" },
    defaultValue: "120",
    netns: "per-netns-default",
    requiresModule: "nf_conntrack",
    hazards: ["Outlives TCP's 60 s TIME_WAIT by default.", "Exists only with nf_conntrack loaded."],
    references: [NF_SYSCTL],
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
