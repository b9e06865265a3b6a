import { describeKernel, keyPresence } from "../key-presence.js";
import { lookupSysctl } from "../catalog.js";
import type { PreparedNode } from "../node-facts.js";
import { requestedInt, type PreparedPolicy } from "../prepared-policy.js";
import type { Rule } from "../rule.js";
import { entryReport } from "../rule.js";

const RECYCLE = "net.ipv4.tcp_tw_recycle";
const FIX =
  "Remove net.ipv4.tcp_tw_recycle or set it to 0; to cope with TIME_WAIT, use net.ipv4.tcp_tw_reuse=1 on the connecting side, or a wider ip_local_port_range.";
const OFFSETS =
  "clients whose kernels offset TCP timestamps per connection (Linux 4.10.0, and kernels with commit 165573e41f2f: 7.0, 6.12.y, 6.18.17+, 6.19.y) have their SYNs dropped within 60 s of a server-closed connection, even with no NAT in the path";

/** "no tcptuning.io/nat label" or "tcptuning.io/nat=\"maybe\" is not a documented value". */
function unknownBecause(node: PreparedNode, label: string): string {
  const invalid = node.placement.invalidLabels.find(([l]) => l === label);
  return invalid ? `${label}=${JSON.stringify(invalid[1])} is not a documented value` : `no ${label} label`;
}

/**
 * Why clients of this node may share one address, or undefined when its labels rule that out. Unknown
 * NAT placement counts as "may be behind NAT" (contract section 2); nat=none declares that arriving
 * connections are not source-NATed, and only load-balancer=snat says otherwise (see placement.ts).
 */
function natReason(node: PreparedNode): string | undefined {
  const p = node.placement;
  if (p.nat === "inbound" || p.nat === "both")
    return `connections to it arrive through NAT (tcptuning.io/nat=${p.nat}), so many clients share one address and the per-host PAWS cache drops SYNs from all but one`;
  if (p.loadBalancer === "snat")
    return "it sits behind a SNAT load balancer (tcptuning.io/load-balancer=snat), so clients share the balancer's addresses and their SYNs are dropped";
  if (p.nat === "unknown")
    return `its NAT placement is unknown (${unknownBecause(node, "tcptuning.io/nat")}), and in Kubernetes kube-proxy or CNI SNAT makes many clients share one address`;
  return undefined;
}

function timestampsOff(policy: PreparedPolicy, node: PreparedNode | undefined): boolean {
  return requestedInt(policy, "net.ipv4.tcp_timestamps") === 0 || node?.placement.timestamps === "stripped";
}

/**
 * TT010: tcp_tw_recycle=1 is unsafe on every kernel: absent from 4.12 (TT011 says so per node),
 * and before that its per-peer PAWS cache drops SYNs from NATed clients and from clients that offset
 * timestamps per connection.
 */
export const twRecycleRule: Rule = {
  id: "TT010",
  name: "tw-recycle-enabled",
  severity: "deny",
  summary: "tcp_tw_recycle=1 drops connections from clients behind NAT and from clients with per-connection timestamp offsets.",
  reference: lookupSysctl(RECYCLE)?.references[0] ?? { title: "commit 4396e46187ca" },
  nodeCheckApplies: (policy) => requestedInt(policy, RECYCLE) === 1,
  checkPolicy(policy, emit) {
    if (requestedInt(policy, RECYCLE) !== 1) return;
    const e = policy.byName.get(RECYCLE);
    if (!e) return;
    const ts = timestampsOff(policy, undefined) ? " With tcp_timestamps=0 it does nothing at all." : "";
    emit(
      entryReport(
        e,
        `${RECYCLE}=1 is unsafe on every kernel: it was removed in 4.12, and before that its per-host PAWS cache drops SYNs from clients behind NAT or SNAT load balancers, and ${OFFSETS}.${ts} ${FIX}`,
      ),
    );
  },
  checkNode(policy, node, emit) {
    if (requestedInt(policy, RECYCLE) !== 1) return;
    const e = policy.byName.get(RECYCLE);
    const spec = e?.spec;
    if (!e || !spec) return;
    const presence = keyPresence(node, spec);
    if (presence.state === "absent") return; // TT011 names the removal on this node
    // Only a kernel version before 4.12 or the agent's probe says the key is there; otherwise it may be.
    const kernel =
      presence.state === "present" ? `${describeKernel(node)} still has the key` : `${describeKernel(node)}: it may still have the key; kernels before 4.12 do`;
    const reasons = [natReason(node), OFFSETS].filter((r): r is string => r !== undefined);
    const ts = timestampsOff(policy, node) ? " Timestamps are off on its path, so it would not even shorten TIME_WAIT." : "";
    emit(entryReport(e, `${RECYCLE}=1 is unsafe on node ${node.name} (${kernel}): ${reasons.join("; and ")}.${ts} ${FIX}`));
  },
};
