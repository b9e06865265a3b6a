import type { DesiredSysctl, NodeState } from "../../api/v1alpha1/node-state.js";
import type { RolloutStatus } from "../../api/v1alpha1/rollout-status.js";
import type { ConditionInput } from "../../kube/conditions.js";
import { nodeRolloutView } from "./node-rollout-view.js";
import { progressMessage, rolloutConditions } from "./progress.js";
import { rolloutStep, type RolloutEvent, type RolloutNode } from "./rollout-step.js";
import { ZONE_LABEL } from "./wave-plan.js";
import type { GateNode, GatePolicy, RolloutGate } from "../rollout-gate.js";

/**
 * The gradual rollout gate: canary, waves, soak and health gate for every policy at once. For each
 * policy it runs rolloutStep (rollout-step.ts) over the nodes the policy concerns, then composes
 * each node's spec from every policy's verdict: a policy that released the node contributes its
 * desired entries, one that reverted it contributes nothing, one that holds it keeps the entries
 * the node has now.
 */

/** What the gradual gate reads of the gate's input (rollout-gate.ts): all of it but what it derives itself. */
export type GradualGateNode = Omit<GateNode, "policies">;
export type GradualGatePolicy = Omit<GatePolicy, "previous">;

export interface GradualGateInput {
  readonly nodes: readonly GradualGateNode[];
  readonly policies: readonly GradualGatePolicy[];
  readonly now: Date;
}

export interface PolicyRolloutResult {
  readonly released: number;
  readonly held: number;
  /** The Progressing line, e.g. "wave 3/7: 12/40 nodes applied, soaking 45 s". */
  readonly message: string;
  /** To write to status.rollout. */
  readonly rollout: RolloutStatus;
  /** Progressing, Degraded and Ready as the rollout sees them. */
  readonly conditions: readonly ConditionInput[];
  readonly events: readonly RolloutEvent[];
  /** Every node has the policy's target and reported it (a removal may drop its finalizer). */
  readonly complete: boolean;
}

export interface GradualGateDecision {
  /** spec.sysctls to write now, per node (every node of the input). */
  readonly specs: ReadonlyMap<string, readonly DesiredSysctl[]>;
  readonly progress: ReadonlyMap<string, PolicyRolloutResult>;
  readonly requeueAfterMs?: number;
}

function asNodeState(n: GradualGateNode): NodeState | undefined {
  if (n.current === undefined) return undefined;
  return {
    apiVersion: "tcptuning.io/v1alpha1",
    kind: "TcpTuningNodeState",
    metadata: { name: n.name, ...(n.generation !== undefined ? { generation: n.generation } : {}) },
    spec: { nodeName: n.name, sysctls: [...n.current] },
    ...(n.status ? { status: n.status } : {}),
  };
}

type Verdict = "release" | "revert" | "hold";

export function decideGradually(input: GradualGateInput): GradualGateDecision {
  const verdicts = new Map<string, Map<string, Verdict>>(); // policy -> node -> verdict
  const progress = new Map<string, PolicyRolloutResult>();
  let requeueAfterMs: number | undefined;

  for (const p of input.policies) {
    const matched = new Set(p.deleting ? [] : p.nodes);
    const concerned = input.nodes.filter((n) => matched.has(n.name) || (n.current ?? []).some((d) => d.policy === p.name));
    const rolloutNodes: RolloutNode[] = concerned.map((n) => {
      const target = matched.has(n.name) ? n.desired.filter((d) => d.policy === p.name) : [];
      const view = nodeRolloutView(asNodeState(n), p.name, target);
      const unreported = n.current !== undefined && (n.generation === undefined || n.status?.observedGeneration !== n.generation);
      return {
        name: n.name,
        zone: n.labels[ZONE_LABEL],
        atTarget: view.atTarget,
        progress: view.progress,
        changing: !view.atTarget && unreported && (n.current ?? []).some((d) => d.policy === p.name),
        message: view.message,
        counterHistory: n.status?.counterHistory,
      };
    });
    const step = rolloutStep({
      policy: p.name,
      generation: p.generation,
      action: p.deleting ? "Remove" : "Apply",
      spec: p.rollout,
      annotations: p.annotations,
      previous: p.previousRollout,
      nodes: rolloutNodes,
      now: input.now,
    });
    const perNode = new Map<string, Verdict>();
    for (const n of concerned) perNode.set(n.name, step.revert.has(n.name) ? "revert" : step.release.has(n.name) ? "release" : "hold");
    verdicts.set(p.name, perNode);
    if (step.requeueAfterMs !== undefined) requeueAfterMs = Math.min(requeueAfterMs ?? Infinity, step.requeueAfterMs);
    progress.set(p.name, {
      released: step.release.size,
      held: concerned.length - step.release.size,
      message: progressMessage(step.status, input.now),
      rollout: step.status,
      conditions: rolloutConditions(step.status, p.generation, input.now),
      events: step.events,
      complete: step.complete,
    });
  }

  const specs = new Map<string, readonly DesiredSysctl[]>();
  for (const n of input.nodes) specs.set(n.name, composeSpec(n, verdicts));
  return { specs, progress, ...(requeueAfterMs !== undefined ? { requeueAfterMs } : {}) };
}

/**
 * One node's spec from each policy's verdict. Entries of a policy the gate does not know (gone
 * without a finalizer) follow the desired state at once. Where two policies' entries name the same
 * key, the desired state's winner is kept.
 */
export function composeSpec(n: GradualGateNode, verdicts: ReadonlyMap<string, ReadonlyMap<string, Verdict>>): DesiredSysctl[] {
  const current = n.current ?? [];
  const policies = new Set([...current.map((d) => d.policy), ...n.desired.map((d) => d.policy)]);
  const out: DesiredSysctl[] = [];
  for (const policy of policies) {
    const verdict = verdicts.get(policy)?.get(n.name) ?? (verdicts.has(policy) ? "hold" : "release");
    if (verdict === "release") out.push(...n.desired.filter((d) => d.policy === policy));
    else if (verdict === "hold") out.push(...current.filter((d) => d.policy === policy));
  }
  const winner = new Map(n.desired.map((d) => [d.name, d.policy]));
  const byName = new Map<string, DesiredSysctl>();
  for (const d of out) {
    const seen = byName.get(d.name);
    if (!seen || (seen.policy !== winner.get(d.name) && d.policy === winner.get(d.name))) byName.set(d.name, d);
  }
  return [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * The controller's gate (rollout-gate.ts) with canary, waves, soak and the health gate.
 *
 * It remembers the rollout status it decided last for each policy and starts the next decision from
 * that rather than from the policy's status in the informer cache while they describe the same
 * generation: the controller computes a pass on every change, often before its own status write
 * has come back through the watch, and a pass that started from the older status would judge a
 * wave again and start a different "next" wave. reset() (on becoming the leader) forgets it, so
 * a new leader starts from what is in the cluster.
 */
export function createGradualGate(): RolloutGate & { decide(input: GradualGateInput): GradualGateDecision } {
  let memory = new Map<string, RolloutStatus>();
  return {
    decide(input) {
      const policies = input.policies.map((p) => {
        const mine = memory.get(p.name);
        const action = p.deleting ? "Remove" : "Apply";
        const fromCache = p.previousRollout;
        const useMine =
          mine !== undefined &&
          mine.generation === p.generation &&
          mine.action === action &&
          !(fromCache && fromCache.generation === mine.generation && fromCache.action === mine.action && isAhead(fromCache, mine));
        return useMine ? { ...p, previousRollout: mine } : p;
      });
      const decision = decideGradually({ ...input, policies });
      memory = new Map([...decision.progress].map(([name, r]) => [name, r.rollout]));
      return decision;
    },
    reset() {
      memory = new Map();
    },
  };
}

/** The cluster's status is further along than what this process remembers (another leader wrote it). */
function isAhead(a: RolloutStatus, b: RolloutStatus): boolean {
  return a.wave > b.wave || (a.wave === b.wave && a.waveCompletedAt !== undefined && b.waveCompletedAt === undefined);
}
