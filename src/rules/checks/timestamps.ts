import { lookupSysctl } from "../catalog.js";
import { probedValue } from "../node-facts.js";
import { requestedInt } from "../prepared-policy.js";
import type { Rule } from "../rule.js";
import { entryReport } from "../rule.js";

const TS = "net.ipv4.tcp_timestamps";
const REUSE = "net.ipv4.tcp_tw_reuse";
const RECYCLE = "net.ipv4.tcp_tw_recycle";
const REF = lookupSysctl(REUSE)?.references[0] ?? { title: "Documentation/networking/ip-sysctl.rst" };

/** The TIME_WAIT shortcuts this policy turns on, which only work with timestamps. */
function timeWaitShortcuts(policy: Parameters<NonNullable<Rule["checkPolicy"]>>[0]): string[] {
  const out: string[] = [];
  const reuse = requestedInt(policy, REUSE);
  if (reuse !== undefined && reuse !== 0) out.push(`${REUSE}=${reuse}`);
  if (requestedInt(policy, RECYCLE) === 1) out.push(`${RECYCLE}=1`);
  return out;
}

/**
 * TT007: tcp_tw_reuse (and tcp_tw_recycle) need TCP timestamps on the old connection;
 * with tcp_timestamps=0 nothing is reused and nothing says so.
 */
export const reuseNeedsTimestampsRule: Rule = {
  id: "TT007",
  name: "tw-reuse-needs-timestamps",
  severity: "deny",
  summary: "TIME_WAIT reuse is requested while TCP timestamps are off, so it silently does nothing.",
  reference: REF,
  // With tcp_timestamps=0 in the policy, checkPolicy already denies; otherwise nodes may still lack timestamps.
  nodeCheckApplies: (policy) => requestedInt(policy, TS) !== 0 && timeWaitShortcuts(policy).length > 0,
  checkPolicy(policy, emit) {
    if (requestedInt(policy, TS) !== 0) return;
    const shortcuts = timeWaitShortcuts(policy);
    const ts = policy.byName.get(TS);
    if (shortcuts.length === 0 || !ts) return;
    emit(
      entryReport(
        ts,
        `${shortcuts.join(" and ")} with ${TS}=0 does nothing: TIME_WAIT reuse needs TCP timestamps on the old connection, so nothing is reused, silently. Keep ${TS}=1 (the default) or drop ${shortcuts.join(" and ")}.`,
      ),
    );
  },
  checkNode(policy, node, emit) {
    // Cheap node facts first: most nodes have timestamps on and an unlabelled path.
    const stripped = node.placement.timestamps === "stripped";
    const probedOff = probedValue(node, TS) === "0";
    if (!probedOff && !stripped) return;
    const requested = requestedInt(policy, TS);
    if (requested === 0) return; // checkPolicy denies the policy itself
    // A policy that turns timestamps on fixes a node whose sysctl is off, not a path whose middleboxes strip them.
    const nodeOff = probedOff && requested === undefined;
    if (!nodeOff && !stripped) return;
    const shortcuts = timeWaitShortcuts(policy);
    if (shortcuts.length === 0) return;
    const entry = policy.byName.get(shortcuts[0]?.split("=")[0] ?? REUSE);
    const sysctl = entry?.name ?? REUSE;
    const value = entry?.value;
    const index = entry?.index;
    if (nodeOff) {
      emit({
        sysctl,
        value,
        index,
        message: `${shortcuts.join(" and ")} on node ${node.name} does nothing: the node agent reports ${TS}=0 there, and TIME_WAIT reuse needs timestamps. Add ${TS}=1 to the policy or exclude the node.`,
      });
    } else {
      emit({
        sysctl,
        value,
        index,
        severity: "warn",
        message: `${shortcuts.join(" and ")} on node ${node.name} may do nothing: its label tcptuning.io/tcp-timestamps=stripped says middleboxes remove TCP timestamps on its path, and TIME_WAIT reuse needs them. Fix the path or drop the setting for this node.`,
      });
    }
  },
};

/**
 * TT008: timestamps off is legal but costs PAWS, TIME_WAIT reuse and RTT samples during
 * retransmission. It does not stop RTT measurement: tcp_ack_update_rtt() (net/ipv4/tcp_input.c)
 * falls back to ACK timing, which Karn's rule leaves out for retransmitted data.
 */
export const timestampsOffRule: Rule = {
  id: "TT008",
  name: "timestamps-off",
  severity: "warn",
  summary: "tcp_timestamps=0 disables PAWS and tcp_tw_reuse, and leaves no RTT samples while data is retransmitted.",
  reference: lookupSysctl(TS)?.references[2] ?? REF,
  checkPolicy(policy, emit) {
    const e = policy.byName.get(TS);
    if (!e || requestedInt(policy, TS) !== 0) return;
    emit(
      entryReport(
        e,
        `${TS}=0 turns off PAWS (protection against wrapped sequence numbers) and tcp_tw_reuse on every matched node, and leaves RTT to ACK timing alone, which takes no samples while data is retransmitted (Karn's rule), so the RTO adapts worst on lossy paths. Keep the default 1 unless a middlebox forces it, and say why in the policy.`,
      ),
    );
  },
};
