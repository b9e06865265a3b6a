import type { DesiredSysctl, KeyResult, NodeStateStatus } from "../api/v1alpha1/node-state.js";
import { normalizeSysctlValue } from "../rules/index.js";
import { ownWithheld, type PolicyOnNode } from "./node-desired.js";

/** Where one policy stands on one matched Linux node: the four counts of status.nodes. */
export type NodeProgressState = "applied" | "pending" | "failed" | "rejected";

export interface NodeProgress {
  readonly state: NodeProgressState;
  /** Why it is not applied, naming the key. */
  readonly reason?: string;
}

/** The node state as the controller last saw it: spec.sysctls, metadata.generation and the agent's status. */
export interface ObservedNodeState {
  readonly sysctls: readonly DesiredSysctl[];
  readonly generation: number | undefined;
  readonly status: NodeStateStatus | undefined;
}

const IN_EFFECT = new Set<KeyResult["result"]>(["Applied", "Skipped"]);
const FAILED = new Set<KeyResult["result"]>(["Failed", "Refused", "RolledBack", "RestoreFailed"]);

/**
 * A node counts as applied for a policy when every key the policy supplies there is in the node
 * state's spec at the policy's generation, the agent has observed that spec (status.observedGeneration
 * equals metadata.generation) and reports each of those keys Applied (written and read back) or
 * Skipped (nothing to write). A key withheld by a conflict or a denied combination makes it failed;
 * a key the agent could not apply too (Pending counts: the agent applies a generation all or nothing,
 * and another key of it failed). Keys another policy overrides are not this policy's to apply.
 */
export function nodeProgress(outcome: PolicyOnNode, generation: number, observed: ObservedNodeState | undefined): NodeProgress {
  if (outcome.kind === "rejected") return { state: "rejected", reason: outcome.findings[0]?.message ?? "denied by the rule engine" };
  const withheld = ownWithheld(outcome);
  if (withheld.length > 0) return { state: "failed", reason: (withheld[0] as { message: string }).message };
  if (outcome.won.length === 0) return { state: "applied" };
  if (!observed) return { state: "pending", reason: "its node state does not exist yet" };
  const spec = new Map(observed.sysctls.map((s) => [s.name, s]));
  for (const w of outcome.won) {
    const s = spec.get(w.name);
    if (!s || normalizeSysctlValue(s.value) !== normalizeSysctlValue(w.value)) return { state: "pending", reason: `${w.name} is not released to the node yet` };
    if (s.policy === w.policy && s.policyGeneration !== generation)
      return { state: "pending", reason: `${w.name} is released at an older generation of the policy` };
  }
  const status = observed.status;
  if (!status || status.observedGeneration === undefined || status.observedGeneration !== observed.generation)
    return { state: "pending", reason: "waiting for the node's agent to apply its current spec" };
  const results = new Map((status.keys ?? []).map((k) => [k.name, k]));
  for (const w of outcome.won) {
    const r = results.get(w.name);
    if (!r) return { state: "pending", reason: `the agent has not reported ${w.name} yet` };
    if (FAILED.has(r.result) || r.result === "Pending")
      return { state: "failed", reason: `${w.name}: ${r.result}${r.message ? `: ${r.message}` : ""}`.slice(0, 1024) };
    if (!IN_EFFECT.has(r.result)) return { state: "pending", reason: `the agent reports ${w.name} ${r.result}` };
  }
  return { state: "applied" };
}
