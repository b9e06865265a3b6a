import { kernelAtLeast } from "../kernel-support.js";
import { describeKernel } from "../kernel-support.js";
import { probedValue } from "../node-facts.js";
import type { PreparedPolicy } from "../prepared-policy.js";
import { requestedInt } from "../prepared-policy.js";
import type { Rule } from "../rule.js";
import { entryReport } from "../rule.js";

const RANGE = "net.ipv4.ip_local_port_range";
const RESERVED = "net.ipv4.ip_local_reserved_ports";
const UNPRIV = "net.ipv4.ip_unprivileged_port_start";
const IP_SYSCTL = { title: "Documentation/networking/ip-sysctl.rst (ip_local_port_range)", url: "https://docs.kernel.org/networking/ip-sysctl.html" };

/** Ports that usually listen on Kubernetes nodes. */
const NODE_PORTS: readonly { readonly low: number; readonly high: number; readonly what: string }[] = [
  { low: 30000, high: 32767, what: "the Kubernetes NodePort range 30000-32767" },
  { low: 10250, high: 10250, what: "the kubelet port 10250" },
  { low: 10256, high: 10256, what: "the kube-proxy health port 10256" },
];

function requestedRange(policy: PreparedPolicy): { low: number; high: number } | undefined {
  const p = policy.byName.get(RANGE)?.parsed;
  return p?.kind === "range" ? { low: p.low, high: p.high } : undefined;
}

function reservedByPolicy(policy: PreparedPolicy): readonly (readonly [number, number])[] {
  const p = policy.byName.get(RESERVED)?.parsed;
  return p?.kind === "portList" ? p.ranges : [];
}

function covered(low: number, high: number, reserved: readonly (readonly [number, number])[]): boolean {
  for (let port = low; port <= high; ) {
    const r = reserved.find(([l, h]) => l <= port && port <= h);
    if (!r) return false;
    port = r[1] + 1;
  }
  return true;
}

/** TT020: the kernel refuses a range starting below ip_unprivileged_port_start (4.11+). */
export const portRangeUnprivilegedRule: Rule = {
  id: "TT020",
  name: "port-range-below-unprivileged-start",
  severity: "deny",
  summary: "ip_local_port_range starts below ip_unprivileged_port_start, which the kernel refuses.",
  reference: { title: "commit 4548b683b781 (ip_unprivileged_port_start, 4.11)" },
  checkNode(policy, node, emit) {
    const range = requestedRange(policy);
    const e = policy.byName.get(RANGE);
    if (!range || !e) return;
    const probed = probedValue(node, UNPRIV);
    const start = requestedInt(policy, UNPRIV) ?? (probed !== undefined ? Number(probed) : kernelAtLeast(node, "4.11") ? 1024 : undefined);
    if (start === undefined || Number.isNaN(start)) {
      if (range.low < 1024 && node.kernel) {
        emit(entryReport(e, `${RANGE} starting at ${range.low} on node ${node.name} hands out privileged ports (below 1024) as ephemeral ports on ${describeKernel(node)}. Start the range at 1024 or above.`, { severity: "warn" }));
      }
      return;
    }
    if (range.low < start) {
      emit(entryReport(e, `${RANGE}="${range.low} ${range.high}" is refused by node ${node.name}: the low port must be at least ip_unprivileged_port_start (${start} there). Start the range at ${start} or above.`));
    }
  },
};

/** TT021: ephemeral ports inside ranges that listen on nodes can collide with those listeners. */
export const portRangeOverlapRule: Rule = {
  id: "TT021",
  name: "port-range-overlaps-node-ports",
  severity: "warn",
  summary: "ip_local_port_range overlaps ports that listen on Kubernetes nodes.",
  reference: IP_SYSCTL,
  checkPolicy(policy, emit) {
    const range = requestedRange(policy);
    const e = policy.byName.get(RANGE);
    if (!range || !e) return;
    const reserved = reservedByPolicy(policy);
    for (const np of NODE_PORTS) {
      const low = Math.max(range.low, np.low);
      const high = Math.min(range.high, np.high);
      if (low > high || covered(low, high, reserved)) continue;
      emit(
        entryReport(e, `${RANGE}="${range.low} ${range.high}" overlaps ${np.what}: an outgoing connection can take a port a listener needs. Reserve it with ${RESERVED}="${low === high ? low : `${low}-${high}`}" in the same policy, or move the range.`),
      );
    }
  },
};

/** TT022: same parity for low and high makes the kernel log a warning (connect() prefers even ports). */
export const portRangeParityRule: Rule = {
  id: "TT022",
  name: "port-range-parity",
  severity: "warn",
  summary: "ip_local_port_range low and high have the same parity.",
  reference: { title: "commit 07f4c90062f8 (connect() prefers even ports, 4.6): kernel logs 'prefer different parity'" },
  checkPolicy(policy, emit) {
    const range = requestedRange(policy);
    const e = policy.byName.get(RANGE);
    if (!range || !e || range.low === range.high || range.low % 2 !== range.high % 2) return;
    emit(entryReport(e, `${RANGE}="${range.low} ${range.high}": low and high have the same parity, and the kernel logs "ip_local_port_range: prefer different parity for start/end values". Make one of them odd, e.g. "${range.low} ${range.high - 1}".`));
  },
};
