import { describe, expect, it } from "vitest";
import { evaluatePolicy, RULES, type PolicyReport, type PreparedNode, type Severity } from "../../../src/rules/index.js";
import { expectWellFormed, findingsOf, NO_NAT, node, policyDoc, type Sysctls } from "./support.js";

/**
 * One table for every rule in RULES: each rule has cases where it must fire (with the severity, node
 * and sysctl it must name) and cases where it must stay silent. A test below fails when a rule has
 * no case of either kind, so a new rule cannot land untested.
 */
interface Case {
  readonly rule: string;
  /** Reads as the end of a sentence after the rule id. */
  readonly says: string;
  /** The policy's sysctls, or a whole document for schema cases. */
  readonly sysctls?: Sysctls;
  readonly doc?: unknown;
  readonly nodes?: readonly PreparedNode[];
  /** Undefined: the rule must not fire. */
  readonly fires?: { readonly severity: Severity; readonly node?: string; readonly sysctl?: string; readonly count?: number; readonly message?: RegExp };
}

const TW_REUSE = "net.ipv4.tcp_tw_reuse";
const TS = "net.ipv4.tcp_timestamps";
const RECYCLE = "net.ipv4.tcp_tw_recycle";
const DELAY = "net.ipv4.tcp_tw_reuse_delay";
const RANGE = "net.ipv4.ip_local_port_range";
const RESERVED = "net.ipv4.ip_local_reserved_ports";
const UNPRIV = "net.ipv4.ip_unprivileged_port_start";
const SOMAXCONN = "net.core.somaxconn";
const CONNTRACK_MAX = "net.netfilter.nf_conntrack_max";

const k4_4nat = node("old-nat", "4.4.0-210-generic", { labels: { "tcptuning.io/nat": "inbound" } });
const k4_9 = node("deb9", "4.9.0-19-amd64");
const k4_11 = node("fc25", "4.11.12-200.fc25.x86_64");
const k4_18 = node("rhel8", "4.18.0-553.el8_10.x86_64");
const k4_19 = node("deb10", "4.19.0-27-amd64");
const k3_10 = node("rhel7", "3.10.0-1160.119.1.el7.x86_64");
const k4_0 = node("k40", "4.0.9");
const k4_1 = node("k41", "4.1.0");
const k5_4 = node("focal", "5.4.0-200-generic");
const k6_14 = node("fc42", "6.14.3-300.fc42.x86_64");
const noKernel = node("blank", "");
const garbageKernel = node("garbage", "not-a-kernel");
const probedNoRecycle = node("probed", "4.9.0-19-amd64", { probe: { keys: [{ name: RECYCLE, present: false }] } });
const probedTsOff = node("ts-off", "5.15.0-1057-aws", { probe: { keys: [{ name: TS, present: true, value: "0" }] } });
const strippedPath = node("stripped", "5.15.0-1057-aws", { labels: { "tcptuning.io/nat": "none", "tcptuning.io/tcp-timestamps": "stripped" } });
const conntrackProbed = node("ct", "6.1.100+", { probe: { keys: [{ name: CONNTRACK_MAX, present: true, value: "262144" }] } });
const badLabel = node("bad-label", "6.6.43-talos", { labels: { "tcptuning.io/nat": "maybe" } });
const probedUnpriv = node("unpriv-2000", "6.6.54-flatcar", { probe: { keys: [{ name: UNPRIV, present: true, value: "2000" }] } });
const probedRange = node("range-40000", "6.6.54-flatcar", { probe: { keys: [{ name: RANGE, present: true, value: "40000\t60999" }] } });
const probedReserved = node("reserved-40000", "6.6.54-flatcar", { probe: { keys: [{ name: RESERVED, present: true, value: "40000-41500" }] } });
const KEEPALIVE = "net.ipv4.tcp_keepalive_time";
const CT_TW = "net.netfilter.nf_conntrack_tcp_timeout_time_wait";
const COOKIES = "net.ipv4.tcp_syncookies";
const facing = node("edge", "6.1.100+", { labels: { ...NO_NAT, "tcptuning.io/internet-facing": "true" } });
const internal = node("internal", "6.1.100+", { labels: { ...NO_NAT, "tcptuning.io/internet-facing": "false" } });
const natGw350 = node("nat-gw", "6.1.100+", { labels: { "tcptuning.io/nat": "outbound", "tcptuning.io/nat-idle-timeout-seconds": "350" } });
const natGwLong = node("nat-long", "6.1.100+", { labels: { "tcptuning.io/nat": "outbound", "tcptuning.io/nat-idle-timeout-seconds": "1200" } });
const natOutbound = node("nat-out", "6.1.100+", { labels: { "tcptuning.io/nat": "outbound" } });
const unlabelled = node("unlabelled", "6.1.100+", { labels: {} });
const acceptsOnly = node("server", "6.1.100+", { labels: { ...NO_NAT, "tcptuning.io/connections": "accepts" } });
const opensToo = node("mixed", "6.1.100+", { labels: { ...NO_NAT, "tcptuning.io/connections": "both" } });

const CASES: readonly Case[] = [
  // TT001 policy-schema
  { rule: "TT001", says: "denies a spec without sysctls", doc: { metadata: { name: "empty" }, spec: { sysctls: [] } }, fires: { severity: "deny" } },
  { rule: "TT001", says: "denies a priority written as a string", doc: policyDocWith({ priority: "high" }), fires: { severity: "deny", message: /priority/ } },
  { rule: "TT001", says: "denies a document with no spec at all", doc: { kind: "TcpTuningPolicy", metadata: { name: "nospec" } }, fires: { severity: "deny" } },
  {
    rule: "TT001",
    says: "denies a value written as a number and names its sysctl",
    doc: policyDocWith({ sysctls: [{ name: TW_REUSE, value: 1 }] }),
    fires: { severity: "deny", sysctl: TW_REUSE, message: /spec\.sysctls\[0\]\.value/ },
  },
  { rule: "TT001", says: "stays silent on a valid policy", sysctls: [[TW_REUSE, "1"]] },

  // TT002 sysctl-name-invalid
  {
    rule: "TT002",
    says: "denies a name written as a path",
    sysctls: [["net/ipv4/tcp_tw_reuse", "1"]],
    fires: { severity: "deny", sysctl: "net/ipv4/tcp_tw_reuse" },
  },
  { rule: "TT002", says: "denies a name with '..'", sysctls: [["net.ipv4..tcp_tw_reuse", "1"]], fires: { severity: "deny", sysctl: "net.ipv4..tcp_tw_reuse" } },
  {
    rule: "TT002",
    says: "denies a name with whitespace",
    sysctls: [["net.ipv4. tcp_tw_reuse", "1"]],
    fires: { severity: "deny", sysctl: "net.ipv4. tcp_tw_reuse" },
  },
  { rule: "TT002", says: "denies a glob", sysctls: [["net.ipv4.tcp_*", "1"]], fires: { severity: "deny", sysctl: "net.ipv4.tcp_*" } },
  { rule: "TT002", says: "stays silent on a dotted catalog name", sysctls: [[TW_REUSE, "1"]] },
  { rule: "TT002", says: "stays silent on a well-formed name outside the scope (TT003 judges it)", sysctls: [["vm.swappiness", "10"]] },

  // TT003 sysctl-out-of-scope
  { rule: "TT003", says: "denies vm.swappiness", sysctls: [["vm.swappiness", "10"]], fires: { severity: "deny", sysctl: "vm.swappiness" } },
  { rule: "TT003", says: "denies kernel.* keys", sysctls: [["kernel.pid_max", "4194304"]], fires: { severity: "deny", sysctl: "kernel.pid_max" } },
  { rule: "TT003", says: "denies fs.* keys", sysctls: [["fs.file-max", "100000"]], fires: { severity: "deny", sysctl: "fs.file-max" } },
  {
    rule: "TT003",
    says: "denies net.ipv6.tcp_tw_reuse and points at the ipv4 key TCP uses for both",
    sysctls: [["net.ipv6.tcp_tw_reuse", "1"]],
    fires: { severity: "deny", sysctl: "net.ipv6.tcp_tw_reuse", message: /If you meant net\.ipv4\.tcp_tw_reuse/ },
  },
  { rule: "TT003", says: "stays silent on net.ipv4 keys", sysctls: [["net.ipv4.tcp_fin_timeout", "60"]] },
  { rule: "TT003", says: "stays silent on a malformed name (TT002 judges it)", sysctls: [["vm/swappiness", "10"]] },

  // TT004 sysctl-unknown
  {
    rule: "TT004",
    says: "denies a misspelled key and suggests the right one",
    sysctls: [["net.ipv4.tcp_fin_timout", "30"]],
    fires: { severity: "deny", sysctl: "net.ipv4.tcp_fin_timout", message: /Did you mean net\.ipv4\.tcp_fin_timeout\?/ },
  },
  {
    rule: "TT004",
    says: "denies a key under the wrong tree and suggests the ipv4 one",
    sysctls: [["net.core.tcp_tw_reuse", "1"]],
    fires: { severity: "deny", sysctl: "net.core.tcp_tw_reuse", message: /Did you mean net\.ipv4\.tcp_tw_reuse\?/ },
  },
  {
    rule: "TT004",
    says: "denies an in-scope key far from every catalog key without a wrong suggestion",
    sysctls: [["net.core.bpf_jit_enable", "1"]],
    fires: { severity: "deny", sysctl: "net.core.bpf_jit_enable", message: /tcp-tuning explain/ },
  },
  { rule: "TT004", says: "stays silent on a catalog key", sysctls: [["net.ipv4.tcp_fin_timeout", "30"]] },
  { rule: "TT004", says: "stays silent on an out-of-scope key (TT003 judges it)", sysctls: [["vm.swappiness", "10"]] },

  // TT005 sysctl-duplicate
  {
    rule: "TT005",
    says: "denies the same key twice",
    sysctls: [
      [TW_REUSE, "1"],
      [TW_REUSE, "0"],
    ],
    fires: { severity: "deny", sysctl: TW_REUSE, count: 1, message: /entries 1 and 2/ },
  },
  {
    rule: "TT005",
    says: "stays silent on distinct keys",
    sysctls: [
      [TW_REUSE, "1"],
      [TS, "1"],
    ],
  },

  // TT006 value-invalid
  {
    rule: "TT006",
    says: "denies tcp_syn_retries=128 (1..127)",
    sysctls: [["net.ipv4.tcp_syn_retries", "128"]],
    fires: { severity: "deny", sysctl: "net.ipv4.tcp_syn_retries", message: /128 is outside 1\.\.127/ },
  },
  {
    rule: "TT006",
    says: "denies a word where a number belongs",
    sysctls: [["net.ipv4.tcp_fin_timeout", "thirty"]],
    fires: { severity: "deny", sysctl: "net.ipv4.tcp_fin_timeout" },
  },
  {
    rule: "TT006",
    says: "denies a leading zero, which the kernel reads as octal",
    sysctls: [["net.ipv4.tcp_fin_timeout", "010"]],
    fires: { severity: "deny", sysctl: "net.ipv4.tcp_fin_timeout", message: /octal, so 010 means 8/ },
  },
  {
    rule: "TT006",
    says: "denies a negative tcp_max_tw_buckets the kernel would take",
    sysctls: [["net.ipv4.tcp_max_tw_buckets", "-1"]],
    fires: { severity: "deny", sysctl: "net.ipv4.tcp_max_tw_buckets" },
  },
  { rule: "TT006", says: "denies tcp_tw_reuse=3", sysctls: [[TW_REUSE, "3"]], fires: { severity: "deny", sysctl: TW_REUSE } },
  { rule: "TT006", says: "denies the undocumented tcp_timestamps=3 the kernel accepts", sysctls: [[TS, "3"]], fires: { severity: "deny", sysctl: TS } },
  {
    rule: "TT006",
    says: "denies a port range running backwards",
    sysctls: [[RANGE, "40000 39999"]],
    fires: { severity: "deny", sysctl: RANGE, message: /low port 40000 is above high port 39999/ },
  },
  { rule: "TT006", says: "denies a port range starting at 0", sysctls: [[RANGE, "0 65535"]], fires: { severity: "deny", sysctl: RANGE } },
  {
    rule: "TT006",
    says: "denies a 20-digit integer as out of range",
    sysctls: [[SOMAXCONN, "99999999999999999999"]],
    fires: { severity: "deny", sysctl: SOMAXCONN, message: /outside 0\.\.2147483647/ },
  },
  { rule: "TT006", says: "denies tcp_tw_reuse_delay=0 and 60001", sysctls: [[DELAY, "0"]], fires: { severity: "deny", sysctl: DELAY } },
  {
    rule: "TT006",
    says: "denies tcp_rmem with max below default",
    sysctls: [["net.ipv4.tcp_rmem", "4096 131072 65536"]],
    fires: { severity: "deny", sysctl: "net.ipv4.tcp_rmem" },
  },
  {
    rule: "TT006",
    says: "stays silent on valid values, tabs and all",
    sysctls: [
      [RANGE, "32768\t60999"],
      ["net.ipv4.tcp_syn_retries", "127"],
      ["net.ipv4.tcp_rmem", "4096 131072 6291456"],
      [RESERVED, "10250, 30000-32767"],
    ],
  },
  {
    rule: "TT006",
    says: "stays silent on the value of a duplicate entry (TT005 judges it)",
    sysctls: [
      [TW_REUSE, "1"],
      [TW_REUSE, "7"],
    ],
  },

  // TT007 tw-reuse-needs-timestamps
  {
    rule: "TT007",
    says: "denies tcp_tw_reuse=1 with tcp_timestamps=0 in the same policy, once, not per node",
    sysctls: [
      [TS, "0"],
      [TW_REUSE, "1"],
    ],
    nodes: [probedTsOff, strippedPath],
    fires: { severity: "deny", sysctl: TS, count: 1, message: /does nothing/ },
  },
  {
    rule: "TT007",
    says: "denies tcp_tw_reuse=1 on a node whose probe reports timestamps off",
    sysctls: [[TW_REUSE, "1"]],
    nodes: [probedTsOff],
    fires: { severity: "deny", node: "ts-off", sysctl: TW_REUSE },
  },
  {
    rule: "TT007",
    says: "warns about tcp_tw_reuse=1 on a node whose path strips timestamps",
    sysctls: [[TW_REUSE, "1"]],
    nodes: [strippedPath],
    fires: { severity: "warn", node: "stripped", sysctl: TW_REUSE },
  },
  {
    rule: "TT007",
    says: "still warns on a stripped path when the policy turns timestamps on (middleboxes ignore sysctls)",
    sysctls: [
      [TS, "1"],
      [TW_REUSE, "1"],
    ],
    nodes: [strippedPath],
    fires: { severity: "warn", node: "stripped", sysctl: TW_REUSE, count: 1 },
  },
  {
    rule: "TT007",
    says: "stays silent when the policy turns timestamps back on where the node had them off",
    sysctls: [
      [TS, "1"],
      [TW_REUSE, "1"],
    ],
    nodes: [probedTsOff],
  },
  { rule: "TT007", says: "stays silent on nodes with timestamps on and an unlabelled path", sysctls: [[TW_REUSE, "1"]], nodes: [k5_4, k4_4nat] },
  {
    rule: "TT007",
    says: "stays silent when reuse is off too",
    sysctls: [
      [TS, "0"],
      [TW_REUSE, "0"],
    ],
    nodes: [k5_4],
  },

  // TT008 timestamps-off
  { rule: "TT008", says: "warns that tcp_timestamps=0 costs PAWS and reuse", sysctls: [[TS, "0"]], fires: { severity: "warn", sysctl: TS } },
  {
    rule: "TT008",
    says: "does not claim RTT measurement stops: only samples during retransmission are lost",
    sysctls: [[TS, "0"]],
    fires: { severity: "warn", sysctl: TS, message: /^(?![\s\S]*RTT measurement)[\s\S]*no samples while data is retransmitted/ },
  },
  { rule: "TT008", says: "stays silent on tcp_timestamps=1", sysctls: [[TS, "1"]] },

  // TT010 tw-recycle-enabled
  {
    rule: "TT010",
    says: "denies tcp_tw_recycle=1 at policy level, whatever the nodes",
    sysctls: [[RECYCLE, "1"]],
    fires: { severity: "deny", sysctl: RECYCLE, count: 1, message: /removed in 4\.12/ },
  },
  {
    rule: "TT010",
    says: "denies tcp_tw_recycle=1 on a NAT node that still has the key",
    sysctls: [[RECYCLE, "1"]],
    nodes: [k4_4nat],
    fires: { severity: "deny", node: "old-nat", sysctl: RECYCLE, count: 1, message: /tcptuning\.io\/nat=inbound/ },
  },
  {
    rule: "TT010",
    says: "denies tcp_tw_recycle=1 on a node whose kernel cannot be read, without claiming that kernel has the key",
    sysctls: [[RECYCLE, "1"]],
    nodes: [garbageKernel],
    fires: {
      severity: "deny",
      node: "garbage",
      sysctl: RECYCLE,
      count: 1,
      message: /kernel not-a-kernel: it may still have the key; kernels before 4\.12 do\)/,
    },
  },
  {
    rule: "TT010",
    says: "says a kernel before 4.12 still has the key",
    sysctls: [[RECYCLE, "1"]],
    nodes: [k4_11],
    fires: { severity: "deny", node: "fc25", sysctl: RECYCLE, count: 1, message: /kernel 4\.11\.12-200\.fc25\.x86_64 still has the key/ },
  },
  { rule: "TT010", says: "stays silent on tcp_tw_recycle=0", sysctls: [[RECYCLE, "0"]], nodes: [k4_4nat, k4_19] },

  // TT011 sysctl-absent-on-kernel
  {
    rule: "TT011",
    says: "denies tcp_tw_reuse_delay on a kernel before 6.14",
    sysctls: [[DELAY, "1000"]],
    nodes: [k5_4],
    fires: { severity: "deny", node: "focal", sysctl: DELAY, message: /exists from 6\.14/ },
  },
  {
    rule: "TT011",
    says: "denies tcp_tw_recycle=1 on a kernel from 4.12",
    sysctls: [[RECYCLE, "1"]],
    nodes: [k4_19],
    fires: { severity: "deny", node: "deb10", sysctl: RECYCLE, message: /removed in 4\.12.*set it to 0, which is how this kernel behaves anyway/ },
  },
  {
    rule: "TT011",
    says: "denies a key the node agent found absent, whatever the version says",
    sysctls: [[RECYCLE, "1"]],
    nodes: [probedNoRecycle],
    fires: { severity: "deny", node: "probed", sysctl: RECYCLE, message: /node agent found no/ },
  },
  {
    rule: "TT011",
    says: "denies ip_unprivileged_port_start before 4.11",
    sysctls: [[UNPRIV, "1024"]],
    nodes: [k4_9],
    fires: { severity: "deny", node: "deb9", sysctl: UNPRIV },
  },
  { rule: "TT011", says: "stays silent on tcp_tw_reuse_delay from 6.14", sysctls: [[DELAY, "1000"]], nodes: [k6_14] },
  { rule: "TT011", says: "stays silent on tcp_tw_recycle=0 where the key is gone (TT012 warns)", sysctls: [[RECYCLE, "0"]], nodes: [k4_19] },

  // TT012 absent-key-already-in-effect
  {
    rule: "TT012",
    says: "warns that tcp_tw_recycle=0 is already in effect from 4.12",
    sysctls: [[RECYCLE, "0"]],
    nodes: [k4_19],
    fires: { severity: "warn", node: "deb10", sysctl: RECYCLE },
  },
  { rule: "TT012", says: "stays silent on tcp_tw_recycle=0 where the key still exists", sysctls: [[RECYCLE, "0"]], nodes: [k4_11] },

  // TT013 value-not-on-kernel
  {
    rule: "TT013",
    says: "denies tcp_tw_reuse=2 before 4.18, where it means reuse for all",
    sysctls: [[TW_REUSE, "2"]],
    nodes: [k4_11],
    fires: { severity: "deny", node: "fc25", sysctl: TW_REUSE, message: /needs kernel 4\.18\+/ },
  },
  {
    rule: "TT013",
    says: "only warns about tcp_timestamps=2 before 4.10, where it acts the same",
    sysctls: [[TS, "2"]],
    nodes: [k4_9],
    fires: { severity: "warn", node: "deb9", sysctl: TS, message: /needs kernel 4\.10\+/ },
  },
  { rule: "TT013", says: "stays silent on tcp_tw_reuse=2 from 4.18", sysctls: [[TW_REUSE, "2"]], nodes: [k4_18, k4_19] },
  { rule: "TT013", says: "stays silent on tcp_timestamps=2 from 4.10", sysctls: [[TS, "2"]], nodes: [k4_11] },

  // TT014 kernel-unknown
  {
    rule: "TT014",
    says: "warns when a node reports no kernel version and no probe",
    sysctls: [[TW_REUSE, "1"]],
    nodes: [noKernel],
    fires: { severity: "warn", node: "blank" },
  },
  {
    rule: "TT014",
    says: "warns when a node's kernel version cannot be read",
    sysctls: [[TW_REUSE, "1"]],
    nodes: [garbageKernel],
    fires: { severity: "warn", node: "garbage" },
  },
  { rule: "TT014", says: "stays silent on a readable kernel", sysctls: [[TW_REUSE, "1"]], nodes: [k5_4] },

  // TT015 module-required
  {
    rule: "TT015",
    says: "warns that nf_conntrack_max needs nf_conntrack when no probe says so",
    sysctls: [[CONNTRACK_MAX, "262144"]],
    nodes: [k5_4],
    fires: { severity: "warn", node: "focal", sysctl: CONNTRACK_MAX, message: /nf_conntrack is loaded/ },
  },
  { rule: "TT015", says: "stays silent when the probe found the key", sysctls: [[CONNTRACK_MAX, "262144"]], nodes: [conntrackProbed] },

  // TT016 somaxconn-above-kernel-cap
  {
    rule: "TT016",
    says: "denies somaxconn above 65535 on a kernel before 4.1",
    sysctls: [[SOMAXCONN, "131072"]],
    nodes: [k4_0, k3_10],
    fires: { severity: "deny", sysctl: SOMAXCONN, count: 2, message: /before 4\.1/ },
  },
  {
    rule: "TT016",
    says: "says once, not twice, that the cap ends in 4.1",
    sysctls: [[SOMAXCONN, "131072"]],
    nodes: [k3_10],
    fires: { severity: "deny", node: "rhel7", sysctl: SOMAXCONN, count: 1, message: /^(?![\s\S]*before 4\.1[\s\S]*before 4\.1)/ },
  },
  { rule: "TT016", says: "stays silent on somaxconn above 65535 from 4.1", sysctls: [[SOMAXCONN, "131072"]], nodes: [k4_1, k5_4] },
  { rule: "TT016", says: "stays silent on somaxconn=65535 on old kernels", sysctls: [[SOMAXCONN, "65535"]], nodes: [k3_10] },

  // TT020 port-range-below-unprivileged-start
  {
    rule: "TT020",
    says: "denies a port range starting below the default unprivileged start",
    sysctls: [[RANGE, "1000 60999"]],
    nodes: [k4_19],
    fires: { severity: "deny", node: "deb10", sysctl: RANGE, message: /at least ip_unprivileged_port_start \(1024/ },
  },
  {
    rule: "TT020",
    says: "denies a port range starting below the probed unprivileged start",
    sysctls: [[RANGE, "1500 60999"]],
    nodes: [probedUnpriv],
    fires: { severity: "deny", node: "unpriv-2000", sysctl: RANGE, message: /\(2000, as the node agent probed it\)/ },
  },
  {
    rule: "TT020",
    says: "denies raising ip_unprivileged_port_start above the default range's low port",
    sysctls: [[UNPRIV, "40000"]],
    nodes: [k5_4],
    fires: { severity: "deny", node: "focal", sysctl: UNPRIV, message: /starts at 32768 \(the kernel default\)/ },
  },
  {
    rule: "TT020",
    says: "denies raising ip_unprivileged_port_start above the probed range's low port",
    sysctls: [[UNPRIV, "45000"]],
    nodes: [probedRange],
    fires: { severity: "deny", node: "range-40000", sysctl: UNPRIV, message: /starts at 40000/ },
  },
  {
    rule: "TT020",
    says: "denies a range below the start the same policy raises once, at policy level, not again on each node",
    sysctls: [
      [UNPRIV, "40000"],
      [RANGE, "32768 60999"],
    ],
    nodes: [k5_4, k4_19],
    fires: { severity: "deny", sysctl: RANGE, count: 1, message: /starts below net\.ipv4\.ip_unprivileged_port_start=40000, set in the same policy/ },
  },
  {
    rule: "TT020",
    says: "denies a range below the start the same policy raises without any node facts (a cross-sysctl rule)",
    sysctls: [
      [UNPRIV, "40000"],
      [RANGE, "32768 60999"],
    ],
    fires: { severity: "deny", sysctl: RANGE, count: 1 },
  },
  {
    rule: "TT020",
    says: "warns about privileged ephemeral ports on kernels without the start key",
    sysctls: [[RANGE, "1000 60999"]],
    nodes: [k4_9],
    fires: { severity: "warn", node: "deb9", sysctl: RANGE },
  },
  { rule: "TT020", says: "stays silent on a range starting at 1024", sysctls: [[RANGE, "1024 65535"]], nodes: [k4_19, k4_9] },
  {
    rule: "TT020",
    says: "stays silent on a start raised together with the range",
    sysctls: [
      [UNPRIV, "40000"],
      [RANGE, "40000 60999"],
    ],
    nodes: [k5_4],
  },
  {
    rule: "TT020",
    says: "stays silent without nodes on a start raised together with the range",
    sysctls: [
      [UNPRIV, "40000"],
      [RANGE, "40000 60999"],
    ],
  },
  { rule: "TT020", says: "stays silent on a start below the range", sysctls: [[UNPRIV, "30000"]], nodes: [k5_4, probedRange] },

  // TT021 port-range-overlaps-node-ports
  {
    rule: "TT021",
    says: "warns that a wide range overlaps the NodePort range and the kubelet port",
    sysctls: [[RANGE, "1024 65535"]],
    fires: {
      severity: "warn",
      sysctl: RANGE,
      count: 3,
      message: /overlaps (the Kubernetes NodePort range 30000-32767|the kubelet port 10250|the kube-proxy health port 10256)/,
    },
  },
  { rule: "TT021", says: "stays silent on the default range", sysctls: [[RANGE, "32768 60999"]] },
  {
    rule: "TT021",
    says: "stays silent when the same policy reserves the overlapping ports",
    sysctls: [
      [RANGE, "10240 65000"],
      [RESERVED, "10250,10256,30000-32767"],
    ],
  },

  // TT022 port-range-parity
  {
    rule: "TT022",
    says: "warns when low and high have the same parity",
    sysctls: [[RANGE, "32768 61000"]],
    fires: { severity: "warn", sysctl: RANGE, message: /prefer different parity/ },
  },
  {
    rule: "TT022",
    says: "warns when both ends are odd without telling the user to make one of them odd",
    sysctls: [[RANGE, "1025 65535"]],
    fires: { severity: "warn", sysctl: RANGE, message: /^(?![\s\S]*one of them odd)[\s\S]*differ in parity, e\.g\. "1025 65534"/ },
  },
  { rule: "TT022", says: "stays silent on different parity", sysctls: [[RANGE, "32768 60999"]] },

  // TT023 ephemeral-ports-exhausted
  {
    rule: "TT023",
    says: "denies a port range that the same policy reserves entirely",
    sysctls: [
      [RANGE, "40000 40009"],
      [RESERVED, "40000-40009"],
    ],
    fires: { severity: "deny", sysctl: RANGE, count: 1, message: /every connect\(\) without an explicit bind fails with EADDRNOTAVAIL/ },
  },
  {
    rule: "TT023",
    says: "warns about a range of only a few ports",
    sysctls: [[RANGE, "60000 60499"]],
    fires: { severity: "warn", sysctl: RANGE, count: 1, message: /only 500 ephemeral ports/ },
  },
  {
    rule: "TT023",
    says: "denies reserving the whole default range on a node",
    sysctls: [[RESERVED, "30000-65535"]],
    nodes: [k5_4],
    fires: { severity: "deny", node: "focal", sysctl: RESERVED, message: /\(the kernel default\)/ },
  },
  {
    rule: "TT023",
    says: "warns when the node's own reservations leave few ports of the policy's range",
    sysctls: [[RANGE, "40000 41999"]],
    nodes: [probedReserved],
    fires: { severity: "warn", node: "reserved-40000", sysctl: RANGE, message: /only 499 ephemeral ports/ },
  },
  { rule: "TT023", says: "stays silent on the default range", sysctls: [[RANGE, "32768 60999"]], nodes: [probedReserved] },
  {
    rule: "TT023",
    says: "stays silent when reserved ports leave most of the range free",
    sysctls: [[RESERVED, "10250,30000-32767,40000-40100"]],
    nodes: [k5_4, probedRange],
  },

  // TT024 unprivileged-port-start-unusual
  {
    rule: "TT024",
    says: "warns that ip_unprivileged_port_start=0 lets anyone bind port 22",
    sysctls: [[UNPRIV, "0"]],
    fires: { severity: "warn", sysctl: UNPRIV, message: /22 and 443/ },
  },
  {
    rule: "TT024",
    says: "warns that a start above 1024 breaks non-root listeners below it",
    sysctls: [
      [UNPRIV, "10000"],
      [RANGE, "10000 60999"],
    ],
    fires: { severity: "warn", sysctl: UNPRIV, message: /ports 1024-9999 privileged/ },
  },
  { rule: "TT024", says: "stays silent on the default 1024 and on a start lowered for a web server", sysctls: [[UNPRIV, "80"]] },

  {
    rule: "TT030",
    says: "warns that a lowered tcp_fin_timeout does not shorten TIME_WAIT",
    sysctls: [["net.ipv4.tcp_fin_timeout", "15"]],
    fires: { severity: "warn", sysctl: "net.ipv4.tcp_fin_timeout", message: /does not shorten TIME_WAIT/ },
  },
  { rule: "TT030", says: "stays silent on the default 60", sysctls: [["net.ipv4.tcp_fin_timeout", "60"]] },

  // TT031 tw-buckets-small
  {
    rule: "TT031",
    says: "warns about a very small tcp_max_tw_buckets",
    sysctls: [["net.ipv4.tcp_max_tw_buckets", "1000"]],
    fires: { severity: "warn", sysctl: "net.ipv4.tcp_max_tw_buckets" },
  },
  { rule: "TT031", says: "stays silent on a generous tcp_max_tw_buckets", sysctls: [["net.ipv4.tcp_max_tw_buckets", "262144"]] },

  // TT032 tw-reuse-delay-short
  {
    rule: "TT032",
    says: "warns about tcp_tw_reuse_delay below 1000 ms",
    sysctls: [[DELAY, "500"]],
    fires: { severity: "warn", sysctl: DELAY, message: /PAWS/ },
  },
  { rule: "TT032", says: "stays silent at 1000 ms", sysctls: [[DELAY, "1000"]] },

  // TT033 retries2-low
  {
    rule: "TT033",
    says: "warns about tcp_retries2 below 8",
    sysctls: [["net.ipv4.tcp_retries2", "5"]],
    fires: { severity: "warn", sysctl: "net.ipv4.tcp_retries2", message: /RFC 1122/ },
  },
  {
    rule: "TT033",
    says: "says how soon tcp_retries2=7 gives up (about 51 s), not 'a few seconds'",
    sysctls: [["net.ipv4.tcp_retries2", "7"]],
    fires: { severity: "warn", sysctl: "net.ipv4.tcp_retries2", message: /after about 51 s of unanswered retransmissions/ },
  },
  {
    rule: "TT033",
    says: "says tcp_retries2=0 gives up after the first retransmission timeout",
    sysctls: [["net.ipv4.tcp_retries2", "0"]],
    fires: { severity: "warn", sysctl: "net.ipv4.tcp_retries2", message: /after about 0\.2 s/ },
  },
  { rule: "TT033", says: "stays silent at 8", sysctls: [["net.ipv4.tcp_retries2", "8"]] },

  // TT034 synack-retries-zero
  {
    rule: "TT034",
    says: "warns that tcp_synack_retries=0 fails a handshake on one lost SYN-ACK",
    sysctls: [["net.ipv4.tcp_synack_retries", "0"]],
    fires: { severity: "warn", sysctl: "net.ipv4.tcp_synack_retries", message: /never retransmits a SYN-ACK/ },
  },
  { rule: "TT034", says: "stays silent on tcp_synack_retries=2", sysctls: [["net.ipv4.tcp_synack_retries", "2"]] },

  // TT035 syncookies-off-internet-facing
  {
    rule: "TT035",
    says: "denies tcp_syncookies=0 on a node labelled internet-facing",
    sysctls: [[COOKIES, "0"]],
    nodes: [facing],
    fires: { severity: "deny", node: "edge", sysctl: COOKIES, message: /internet-facing=true/ },
  },
  {
    rule: "TT035",
    says: "warns about tcp_syncookies=0 where the node does not say whether it faces the internet",
    sysctls: [[COOKIES, "0"]],
    nodes: [k5_4],
    fires: { severity: "warn", node: "focal", sysctl: COOKIES, message: /label it tcptuning\.io\/internet-facing=false/ },
  },
  { rule: "TT035", says: "stays silent on a node declared internal", sysctls: [[COOKIES, "0"]], nodes: [internal] },
  { rule: "TT035", says: "stays silent on tcp_syncookies=1", sysctls: [[COOKIES, "1"]], nodes: [facing] },

  // TT040 host-namespace-only
  {
    rule: "TT040",
    says: "warns once per policy that host values do not reach ordinary pods",
    sysctls: [
      ["net.ipv4.tcp_keepalive_time", "300"],
      ["net.ipv4.tcp_keepalive_intvl", "30"],
      [TW_REUSE, "1"],
    ],
    fires: { severity: "warn", sysctl: "net.ipv4.tcp_keepalive_time", count: 1, message: /--allowed-unsafe-sysctls/ },
  },
  {
    rule: "TT040",
    says: "says that keys which became per-namespace late reach every pod on older kernels",
    sysctls: [[TS, "1"]],
    fires: { severity: "warn", sysctl: TS, count: 1, message: /net\.ipv4\.tcp_timestamps before 4\.13/ },
  },
  {
    rule: "TT040",
    says: "does not call a key global on kernels that never had it",
    sysctls: [[DELAY, "1000"]],
    fires: { severity: "warn", sysctl: DELAY, count: 1, message: /^(?![\s\S]*still global)/ },
  },
  {
    rule: "TT040",
    says: "names the Kubernetes version that put a key on the kubelet's safe list when it is recent",
    sysctls: [
      ["net.ipv4.tcp_keepalive_time", "300"],
      ["net.ipv4.tcp_rmem", "4096 131072 6291456"],
      [RANGE, "32768 60999"],
    ],
    fires: {
      severity: "warn",
      count: 1,
      message:
        /net\.ipv4\.tcp_keepalive_time \(Kubernetes 1\.29\+, kernel 4\.5\+\), net\.ipv4\.tcp_rmem \(Kubernetes 1\.32\+, kernel 4\.15\+\), net\.ipv4\.ip_local_port_range are on the kubelet's safe list/,
    },
  },
  {
    rule: "TT040",
    says: "does not promise a pod sysctl the kubelet refuses on old kernels",
    sysctls: [
      ["net.ipv4.tcp_fin_timeout", "30"],
      ["net.ipv4.ip_local_reserved_ports", "10250"],
    ],
    fires: {
      severity: "warn",
      count: 1,
      message:
        /net\.ipv4\.tcp_fin_timeout \(Kubernetes 1\.29\+, kernel 4\.6\+\), net\.ipv4\.ip_local_reserved_ports \(Kubernetes 1\.27\+, kernel 3\.16\+\) are on the kubelet's safe list \(on older kernels the kubelet leaves/,
    },
  },
  { rule: "TT040", says: "stays silent on tcp_tw_recycle, which is denied anyway", sysctls: [[RECYCLE, "1"]] },
  { rule: "TT040", says: "stays silent on a key with one value per host", sysctls: [[CONNTRACK_MAX, "262144"]] },

  // TT041 placement-label-invalid
  {
    rule: "TT041",
    says: "warns about a placement label outside the contract",
    sysctls: [[TW_REUSE, "1"]],
    nodes: [badLabel],
    fires: { severity: "warn", node: "bad-label", message: /tcptuning\.io\/nat="maybe"/ },
  },
  {
    rule: "TT041",
    says: "warns about an idle timeout label that is not a whole number of seconds",
    sysctls: [[KEEPALIVE, "200"]],
    nodes: [node("bad-timeout", "6.1.100+", { labels: { ...NO_NAT, "tcptuning.io/nat-idle-timeout-seconds": "4m" } })],
    fires: { severity: "warn", node: "bad-timeout", message: /tcptuning\.io\/nat-idle-timeout-seconds="4m"/ },
  },
  { rule: "TT041", says: "stays silent on contract labels", sysctls: [[TW_REUSE, "1"]], nodes: [k5_4, facing, acceptsOnly, natGw350] },

  // TT042 keepalive-above-idle-timeout
  {
    rule: "TT042",
    says: "warns that the default-like 7200 s keepalive outlives a 350 s NAT gateway",
    sysctls: [[KEEPALIVE, "7200"]],
    nodes: [natGw350],
    fires: { severity: "warn", node: "nat-gw", sysctl: KEEPALIVE, message: /is 350 s.*below 350/ },
  },
  {
    rule: "TT042",
    says: "assumes the shortest cloud default, 240 s, where the timeout is not declared",
    sysctls: [[KEEPALIVE, "300"]],
    nodes: [natOutbound, unlabelled],
    fires: { severity: "warn", sysctl: KEEPALIVE, count: 2, message: /240 s, the shortest cloud default/ },
  },
  { rule: "TT042", says: "stays silent below the declared timeout", sysctls: [[KEEPALIVE, "600"]], nodes: [natGwLong] },
  { rule: "TT042", says: "stays silent below the assumed 240 s", sysctls: [[KEEPALIVE, "200"]], nodes: [natOutbound] },
  { rule: "TT042", says: "stays silent on a node without NAT or balancer", sysctls: [[KEEPALIVE, "7200"]], nodes: [k5_4] },

  // TT043 conntrack-time-wait-short-on-nat
  {
    rule: "TT043",
    says: "warns about conntrack TIME_WAIT below 60 s on a node that may NAT",
    sysctls: [[CT_TW, "30"]],
    nodes: [unlabelled, natOutbound],
    fires: { severity: "warn", sysctl: CT_TW, count: 2, message: /keeps TIME_WAIT for 60 s/ },
  },
  { rule: "TT043", says: "stays silent on a node declared without NAT", sysctls: [[CT_TW, "30"]], nodes: [k5_4] },
  { rule: "TT043", says: "stays silent at 60 s", sysctls: [[CT_TW, "60"]], nodes: [unlabelled] },

  // TT044 tw-reuse-on-accept-only-node
  {
    rule: "TT044",
    says: "warns that tcp_tw_reuse=1 does nothing on a node that only accepts connections",
    sysctls: [[TW_REUSE, "1"]],
    nodes: [acceptsOnly],
    fires: { severity: "warn", node: "server", sysctl: TW_REUSE, message: /only accept connections/ },
  },
  { rule: "TT044", says: "stays silent on a node that also opens connections", sysctls: [[TW_REUSE, "1"]], nodes: [opensToo, k5_4] },
  { rule: "TT044", says: "stays silent on the default tcp_tw_reuse=2", sysctls: [[TW_REUSE, "2"]], nodes: [acceptsOnly] },
];

function policyDocWith(extra: Record<string, unknown>): unknown {
  const doc = policyDoc([[TW_REUSE, "1"]]);
  return { ...doc, spec: { ...(doc["spec"] as object), ...extra } };
}

function run(c: Case): PolicyReport {
  return evaluatePolicy(c.doc ?? policyDoc(c.sysctls ?? []), c.nodes);
}

describe("every rule", () => {
  it.each(RULES.map((r) => [r.id, r.name] as const))("%s (%s) has a case that fires and a case that must not", (id) => {
    expect(CASES.some((c) => c.rule === id && c.fires)).toBe(true);
    expect(CASES.some((c) => c.rule === id && !c.fires)).toBe(true);
  });

  it("has unique, stable ids in id order", () => {
    const ids = RULES.map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
    for (const id of ids) expect(id).toMatch(/^TT0\d\d$/);
  });

  it.each(RULES.map((r) => [r.id, r] as const))("%s has a name, a summary and a reference", (_id, r) => {
    expect(r.name).toMatch(/^[a-z0-9-]+$/);
    expect(r.summary.trim()).not.toBe("");
    expect(r.reference.title.trim()).not.toBe("");
  });
});

describe.each(RULES.map((r) => r.id))("rule %s", (id) => {
  const cases = CASES.filter((c) => c.rule === id);
  it.each(cases.filter((c) => c.fires).map((c) => [c.says, c] as const))("%s", (_says, c) => {
    const fires = c.fires;
    if (!fires) throw new Error("table error");
    // A node case looks at that rule's node findings; policy-level findings of the same rule are other cases.
    const found = findingsOf(run(c), id).filter((f) => fires.node === undefined || f.node !== undefined);
    expect(found.length, JSON.stringify(found)).toBeGreaterThan(0);
    if (fires.count !== undefined) expect(found).toHaveLength(fires.count);
    for (const f of found) {
      expect(f.severity).toBe(fires.severity);
      const wanted: { node?: string; sysctl?: string } = {};
      if (fires.node !== undefined) wanted.node = fires.node;
      if (fires.sysctl !== undefined) wanted.sysctl = fires.sysctl;
      expectWellFormed(f, wanted);
      if (fires.message) expect(f.message).toMatch(fires.message);
    }
  });
  it.each(cases.filter((c) => !c.fires).map((c) => [c.says, c] as const))("%s", (_says, c) => {
    expect(findingsOf(run(c), id)).toEqual([]);
  });
});
