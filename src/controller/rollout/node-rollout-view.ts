import type { DesiredSysctl, KeyResult, NodeState } from "../../api/v1alpha1/node-state.js";

/**
 * Where one node stands in one policy's rollout, read from its TcpTuningNodeState: is the policy's
 * target already in its desired state (spec, written by the controller), and has its agent
 * reported that spec applied and verified (status.observedGeneration = metadata.generation, and
 * each of the policy's keys Applied)?
 */

export type NodeProgress = "done" | "inFlight" | "failed";

export interface NodeRolloutView {
  readonly atTarget: boolean;
  readonly progress: NodeProgress;
  /** Why it failed (the agent's key results). */
  readonly message?: string;
}

const key = (d: Pick<DesiredSysctl, "name" | "value" | "policyGeneration">): string => `${d.name}\0${d.value}\0${d.policyGeneration ?? ""}`;

/** The policy's entries in a desired list equal `target` (same names, values and policy generations). */
export function policyEntriesEqual(published: readonly DesiredSysctl[] | undefined, policy: string, target: readonly DesiredSysctl[]): boolean {
  const mine = (published ?? [])
    .filter((d) => d.policy === policy)
    .map(key)
    .sort();
  const want = target.map(key).sort();
  return mine.length === want.length && mine.every((k, i) => k === want[i]);
}

const FAILED: ReadonlySet<KeyResult["result"]> = new Set(["Failed", "Refused", "RolledBack", "Pending", "RestoreFailed"]);

function describe(keys: readonly KeyResult[]): string {
  return keys
    .map((k) => `${k.name} ${k.result}${k.message ? `: ${k.message}` : ""}`)
    .join("; ")
    .slice(0, 1000);
}

/**
 * `target`: the policy's entries this node should carry when the rollout reaches it ([] for a
 * removal, or a node that left the policy's selector).
 */
export function nodeRolloutView(state: NodeState | undefined, policy: string, target: readonly DesiredSysctl[]): NodeRolloutView {
  const atTarget = policyEntriesEqual(state?.spec.sysctls, policy, target);
  if (!state || !atTarget) return { atTarget, progress: "inFlight" };
  const generation = state.metadata.generation;
  const status = state.status;
  if (!status || generation === undefined || status.observedGeneration !== generation) return { atTarget, progress: "inFlight" };
  const keys = status.keys ?? [];
  const names = new Set(target.map((t) => t.name));
  // Applying: each of the policy's keys must be Applied (Skipped: nothing to write on this kernel).
  // Removing: nothing of the node may have failed to restore.
  const relevant = target.length > 0 ? keys.filter((k) => names.has(k.name)) : keys.filter((k) => k.result === "RestoreFailed");
  const bad = relevant.filter((k) => FAILED.has(k.result));
  if (bad.length > 0) return { atTarget, progress: "failed", message: describe(bad) };
  const applied = status.conditions?.find((c) => c.type === "Applied");
  if (applied?.status === "False" && relevant.length === 0)
    return { atTarget, progress: "failed", message: `${applied.reason}: ${applied.message}`.slice(0, 1000) };
  if (target.length > 0) {
    const ok = new Set(relevant.filter((k) => k.result === "Applied" || k.result === "Skipped").map((k) => k.name));
    if (![...names].every((n) => ok.has(n))) return { atTarget, progress: "inFlight" };
  }
  return { atTarget, progress: "done" };
}
