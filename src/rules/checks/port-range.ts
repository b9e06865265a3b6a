import { lookupSysctl } from "../catalog.js";
import { describeKernel, keyPresence } from "../key-presence.js";
import { probedValue, type PreparedNode } from "../node-facts.js";
import type { PreparedPolicy } from "../prepared-policy.js";
import { requestedInt } from "../prepared-policy.js";
import type { Rule } from "../rule.js";
import { entryReport } from "../rule.js";

const RANGE = "net.ipv4.ip_local_port_range";
const RESERVED = "net.ipv4.ip_local_reserved_ports";
const UNPRIV = "net.ipv4.ip_unprivileged_port_start";
const UNPRIV_SPEC = lookupSysctl(UNPRIV);
const DEFAULT_UNPRIVILEGED_START = 1024;
/** ip_local_port_range's default low port on every kernel in scope ("32768 60999", "32768 61000" up to 4.1). */
const DEFAULT_RANGE_LOW = 32768;
const IP_SYSCTL = { title: "Documentation/networking/ip-sysctl.rst (ip_local_port_range)", url: "https://docs.kernel.org/networking/ip-sysctl.html" };

/** Ports that usually listen on Kubernetes nodes. */
const NODE_PORTS: readonly { readonly low: number; readonly high: number; readonly what: string }[] = [
  { low: 30000, high: 32767, what: "the Kubernetes NodePort range 30000-32767" },
  { low: 10250, high: 10250, what: "the kubelet port 10250" },
  { low: 10256, high: 10256, what: "the kube-proxy health port 10256" },
];

export function requestedRange(policy: PreparedPolicy): { low: number; high: number } | undefined {
  const p = policy.byName.get(RANGE)?.parsed;
  return p?.kind === "range" ? { low: p.low, high: p.high } : undefined;
}

export function reservedByPolicy(policy: PreparedPolicy): readonly (readonly [number, number])[] {
  const p = policy.byName.get(RESERVED)?.parsed;
  return p?.kind === "portList" ? p.ranges : [];
}

function covered(low: number, high: number, reserved: readonly (readonly [number, number])[]): boolean {
  for (let port = low; port <= high;) {
    const r = reserved.find(([l, h]) => l <= port && port <= h);
    if (!r) return false;
    port = r[1] + 1;
  }
  return true;
}

/** The low port of the range a node has when the policy does not set one: probed, else the kernel default. */
function nodeRangeLow(node: PreparedNode): { low: number; from: string } {
  const probed = probedValue(node, RANGE);
  const low = probed === undefined ? Number.NaN : Number(probed.split(" ")[0]);
  return Number.isInteger(low) ? { low, from: "as the node agent probed it" } : { low: DEFAULT_RANGE_LOW, from: "the kernel default" };
}

/** The policy sets both keys, and its range starts below its own start: no node can take both. */
function contradictsItself(policy: PreparedPolicy): boolean {
  const range = requestedRange(policy);
  const start = requestedInt(policy, UNPRIV);
  return range !== undefined && start !== undefined && range.low < start;
}

/**
 * TT020: the kernel keeps ip_local_port_range at or above ip_unprivileged_port_start (4.11+): it refuses
 * a range starting below the start, and refuses raising the start above the range's low port.
 */
export const portRangeUnprivilegedRule: Rule = {
  id: "TT020",
  name: "port-range-below-unprivileged-start",
  severity: "deny",
  summary: "ip_local_port_range would start below ip_unprivileged_port_start (a lower range or a raised start), which the kernel refuses.",
  reference: { title: "commit 4548b683b781 (ip_unprivileged_port_start, 4.11)" },
  nodeCheckApplies: (policy) => (requestedRange(policy) !== undefined || requestedInt(policy, UNPRIV) !== undefined) && !contradictsItself(policy),
  // A range below the start the same policy sets is refused on every kernel that has the start key (and
  // the key is absent, TT011, on the others): a cross-sysctl rule, so it is judged without nodes too.
  checkPolicy(policy, emit) {
    const range = requestedRange(policy);
    const start = requestedInt(policy, UNPRIV);
    const rangeEntry = policy.byName.get(RANGE);
    if (!range || start === undefined || !rangeEntry || !contradictsItself(policy)) return;
    emit(
      entryReport(
        rangeEntry,
        `${RANGE}="${range.low} ${range.high}" starts below ${UNPRIV}=${start}, set in the same policy: the kernel refuses a range whose low port is below ip_unprivileged_port_start, whatever the order of the writes. Start the range at ${start} or above, or lower ${UNPRIV}.`,
      ),
    );
  },
  checkNode(policy, node, emit) {
    const range = requestedRange(policy);
    const rangeEntry = policy.byName.get(RANGE);
    // Kernels without ip_unprivileged_port_start (before 4.11) have no such constraint; TT011 denies the key itself there.
    const hasStart = UNPRIV_SPEC !== undefined && keyPresence(node, UNPRIV_SPEC).state !== "absent";
    const requestedStart = hasStart ? requestedInt(policy, UNPRIV) : undefined;
    if (range && rangeEntry) {
      const probed = probedValue(node, UNPRIV);
      const probedStart = probed !== undefined && /^\d+$/.test(probed) ? Number(probed) : undefined;
      const start = requestedStart ?? probedStart ?? (hasStart && node.kernel ? DEFAULT_UNPRIVILEGED_START : undefined);
      if (start === undefined) {
        if (range.low < DEFAULT_UNPRIVILEGED_START && node.kernel) {
          emit(
            entryReport(
              rangeEntry,
              `${RANGE} starting at ${range.low} on node ${node.name} hands out privileged ports (below 1024) as ephemeral ports on ${describeKernel(node)}. Start the range at 1024 or above.`,
              { severity: "warn" },
            ),
          );
        }
        return;
      }
      if (range.low < start) {
        const where =
          requestedStart !== undefined ? "as this policy sets it" : probedStart !== undefined ? "as the node agent probed it" : "the kernel default";
        emit(
          entryReport(
            rangeEntry,
            `${RANGE}="${range.low} ${range.high}" is refused by node ${node.name}: the low port must be at least ip_unprivileged_port_start (${start}, ${where}). Start the range at ${start} or above.`,
          ),
        );
      }
      return;
    }
    const startEntry = policy.byName.get(UNPRIV);
    if (requestedStart === undefined || !startEntry) return;
    const current = nodeRangeLow(node);
    if (requestedStart > current.low) {
      emit(
        entryReport(
          startEntry,
          `${UNPRIV}=${requestedStart} is refused by node ${node.name}: its ${RANGE} starts at ${current.low} (${current.from}), and the kernel refuses a start above the range's low port. Use ${current.low} or less, or set ${RANGE} in the same policy to start at ${requestedStart} or above.`,
        ),
      );
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
        entryReport(
          e,
          `${RANGE}="${range.low} ${range.high}" overlaps ${np.what}: an outgoing connection can take a port a listener needs. Reserve it with ${RESERVED}="${low === high ? low : `${low}-${high}`}" in the same policy, or move the range.`,
        ),
      );
    }
  },
};

/**
 * TT022: same parity for low and high makes the kernel log a warning. connect() prefers ports of the
 * low port's parity since 07f4c90062f8 (4.2), which also added the warning in set_local_port_range()
 * (net/ipv4/sysctl_net_ipv4.c) and made the default range 32768-60999; 1580ab63fc9a (4.6) refined it.
 */
export const portRangeParityRule: Rule = {
  id: "TT022",
  name: "port-range-parity",
  severity: "warn",
  summary: "ip_local_port_range low and high have the same parity.",
  reference: {
    title:
      "commit 07f4c90062f8 \"tcp/dccp: try to not exhaust ip_local_port_range in connect()\" (4.2): connect() prefers one parity, and the kernel logs 'prefer different parity'",
  },
  checkPolicy(policy, emit) {
    const range = requestedRange(policy);
    const e = policy.byName.get(RANGE);
    if (!range || !e || range.low === range.high || range.low % 2 !== range.high % 2) return;
    emit(
      entryReport(
        e,
        `${RANGE}="${range.low} ${range.high}": low and high have the same parity, and the kernel logs "ip_local_port_range: prefer different parity for start/end values". Make low and high differ in parity, e.g. "${range.low} ${range.high - 1}".`,
      ),
    );
  },
};
