import type { DesiredSysctl, NodeStateStatus } from "../api/v1alpha1/node-state.js";
import type { Rollout } from "../api/v1alpha1/policy.js";
import type { RolloutStatus } from "../api/v1alpha1/rollout-status.js";
import type { ConditionInput } from "../kube/conditions.js";

/**
 * The rollout gate: after the controller has computed every node's desired state, the gate decides
 * what each node's TcpTuningNodeState spec receives NOW. It is the only place that knows about
 * pacing; everything before it (merge, conflicts, re-judging) and after it (writes, status) is the
 * same whatever the gate does. Pure: the same input gives the same decision.
 *
 * The gate of this module (`immediateGate`) passes every desired state through at once. A gradual
 * gate (canary, waves, soak, health) implements the same interface: it may give a node its full
 * desired state, leave its current spec in place, or compose a spec that takes some policies' keys
 * from `desired` and the rest from `current`.
 */

export interface GateNode {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  /** spec.sysctls of the node state now; undefined when the object does not exist yet. */
  readonly current: readonly DesiredSysctl[] | undefined;
  /** What the node should have once every rollout is done. */
  readonly desired: readonly DesiredSysctl[];
  /** metadata.generation of the node state now. */
  readonly generation: number | undefined;
  /** What the node's agent reports (observedGeneration, keys, conditions, counters). */
  readonly status: NodeStateStatus | undefined;
  /** The policies that select this node and are allowed on it (not rejected). */
  readonly policies: readonly string[];
}

export interface GatePolicy {
  readonly name: string;
  readonly generation: number;
  readonly rollout: Rollout | undefined;
  /** Matched Linux nodes where the policy is not rejected. */
  readonly nodes: readonly string[];
  /** The policy's previous rollout progress (from its status), when a gate keeps any. */
  readonly previous?: RolloutProgress | undefined;
  /** metadata.annotations (tcptuning.io/paused, tcptuning.io/resume). */
  readonly annotations?: Readonly<Record<string, string>> | undefined;
  /** status.rollout as last written. */
  readonly previousRollout?: RolloutStatus | undefined;
  /** Being deleted: its keys leave the nodes (the gradual gate does it in waves). */
  readonly deleting?: boolean | undefined;
}

export interface GateInput {
  readonly nodes: readonly GateNode[];
  readonly policies: readonly GatePolicy[];
  readonly now: Date;
}

/** A policy's rollout in one line, for the Progressing condition; a gradual gate adds waves. */
export interface RolloutProgress {
  /** Nodes whose spec now carries this policy's desired keys. */
  readonly released: number;
  /** Nodes still held back by the gate. */
  readonly held: number;
  /** One line for the Progressing condition, e.g. "wave 3/7: 12/40 nodes applied, soaking 45 s". */
  readonly message?: string;
  /** The gradual gate's state, for status.rollout. */
  readonly rollout?: RolloutStatus;
  /** Progressing, Degraded and Ready as the rollout sees them. */
  readonly conditions?: readonly ConditionInput[];
  /** Events the rollout wants (a wave halted, a health gate failed, the rollout completed). */
  readonly events?: readonly { readonly type: "Normal" | "Warning"; readonly reason: string; readonly message: string }[];
  /** Every node carries the policy's target and reported it (a deleted policy's keys are all gone). */
  readonly complete?: boolean;
}

export interface GateDecision {
  /** The spec.sysctls to write now, per node; a node left out keeps its current spec. */
  readonly specs: ReadonlyMap<string, readonly DesiredSysctl[]>;
  readonly progress: ReadonlyMap<string, RolloutProgress>;
  /** Ask to be called again after this long even if nothing changes (a soak timer); undefined: no need. */
  readonly requeueAfterMs?: number;
}

export interface RolloutGate {
  decide(input: GateInput): GateDecision;
  /** This process just became the leader: forget anything not read from the cluster. */
  reset?(): void;
}

/** Every node gets its whole desired state at once (issue 10; spec.rollout is not yet honoured). */
export const immediateGate: RolloutGate = {
  decide(input) {
    const specs = new Map<string, readonly DesiredSysctl[]>();
    for (const n of input.nodes) specs.set(n.name, n.desired);
    const progress = new Map<string, RolloutProgress>();
    for (const p of input.policies) progress.set(p.name, { released: p.nodes.length, held: 0 });
    return { specs, progress };
  },
};
