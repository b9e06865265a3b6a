import type { DesiredSysctl } from "../api/v1alpha1/node-state.js";
import type { Plan, PolicyStatus, WithheldKey } from "../api/v1alpha1/policy.js";
import { evaluatePrepared, selects } from "../rules/index.js";
import type { ClusterView, NodeView, PolicyView } from "./cluster-view.js";
import { boundedPlan, planRows } from "./dry-run-plan.js";
import { desiredForNode, type NodeDesired } from "./node-desired.js";
import { nodeProgress, type NodeProgress, type ObservedNodeState } from "./node-progress.js";
import { policyStatus } from "./policy-status.js";
import type { GateNode, GatePolicy, RolloutGate, RolloutProgress } from "./rollout-gate.js";
import { setCondition } from "../kube/conditions.js";

/**
 * The whole controller as one pure function: every policy, node and node state in; every node
 * state's spec, every policy's status and the Events to emit out. Level-triggered: nothing but the
 * current inputs counts, so a deleted policy's keys simply leave the node states at the next pass,
 * and a controller that was down catches up on start.
 */

/** An Event the controller wants to exist about a policy (one per situation: the process emits it when it appears). */
export interface EventIntent {
  readonly policy: string;
  readonly policyUid: string | undefined;
  readonly type: "Normal" | "Warning";
  readonly reason: string;
  readonly message: string;
}

export interface NodePlan {
  readonly name: string;
  readonly uid: string | undefined;
  readonly desired: NodeDesired;
  /** What the rollout gate releases now: the spec.sysctls to apply. */
  readonly spec: readonly DesiredSysctl[];
}

/**
 * The finalizer that holds a deleted policy until its keys have left every node in waves: only an
 * Enforce policy with spec.rollout gets it (without a rollout its keys leave at once, as before).
 * It is removed when the removal's rollout completes, or REMOVAL_TIMEOUT_MS after the deletion
 * (then every remaining key leaves at once), so a deletion never waits forever on a stuck rollout.
 * Without a running controller nothing removes it: `kubectl patch ttp NAME --type merge -p
 * '{"metadata":{"finalizers":null}}'` does (an uninstall removes it before the controller goes).
 */
export const ROLLOUT_FINALIZER = "tcptuning.io/rollout";
export const REMOVAL_TIMEOUT_MS = 30 * 60_000;

export interface FinalizerChange {
  readonly policy: string;
  readonly resourceVersion: string | undefined;
  readonly finalizers: readonly string[];
}

export interface ClusterPlan {
  /** Policies whose metadata.finalizers must change (add or drop ROLLOUT_FINALIZER). */
  readonly finalizers: readonly FinalizerChange[];
  /** Linux nodes only, by name: Windows nodes get no node state. */
  readonly nodes: ReadonlyMap<string, NodePlan>;
  /** Every policy's status, by name. */
  readonly statuses: ReadonlyMap<string, PolicyStatus>;
  readonly events: readonly EventIntent[];
  readonly requeueAfterMs?: number | undefined;
}

function observedOf(node: NodeView): ObservedNodeState | undefined {
  const s = node.state?.object;
  return s ? { sysctls: s.spec.sysctls ?? [], generation: s.metadata.generation, status: s.status } : undefined;
}

export function planCluster(view: ClusterView, gate: RolloutGate, now: Date): ClusterPlan {
  const linux = view.nodes.filter((n) => n.linux);
  const desired = new Map<string, NodeDesired>();
  for (const node of linux) desired.set(node.name, desiredForNode(node, view.policies));

  // Deleted policies stay in the gate until their keys have left every node (in waves, like a change).
  const enforce = view.policies.filter((p) => !p.policyDenied && p.prepared.mode === "Enforce");
  const gateNodes: GateNode[] = linux.map((n) => {
    const d = desired.get(n.name) as NodeDesired;
    return {
      name: n.name,
      labels: n.input.labels,
      current: n.state?.object.spec.sysctls ?? (n.state ? [] : undefined),
      desired: d.sysctls,
      generation: n.state?.generation,
      status: n.state?.object.status,
      policies: [...d.policies].filter(([, o]) => o.kind === "active").map(([p]) => p),
    };
  });
  const gatePolicies: GatePolicy[] = enforce.map((p) => ({
    name: p.name,
    generation: p.generation,
    rollout: p.rollout,
    nodes: p.deleting ? [] : linux.filter((n) => desired.get(n.name)?.policies.get(p.name)?.kind === "active").map((n) => n.name),
    annotations: p.annotations,
    previousRollout: p.status?.rollout,
    deleting: p.deleting,
  }));
  const decision = gate.decide({ nodes: gateNodes, policies: gatePolicies, now });

  const nodes = new Map<string, NodePlan>();
  for (const n of linux) {
    const d = desired.get(n.name) as NodeDesired;
    nodes.set(n.name, { name: n.name, uid: n.uid, desired: d, spec: decision.specs.get(n.name) ?? n.state?.object.spec.sysctls ?? [] });
  }

  const statuses = new Map<string, PolicyStatus>();
  const events: EventIntent[] = [];
  for (const p of view.policies) {
    const rollout = decision.progress.get(p.name);
    // The rollout reports a transition (a halt, a failed health gate) on the pass that makes it: an
    // Event once, as the situation appears.
    for (const e of rollout?.events ?? []) events.push({ policy: p.name, policyUid: p.uid, type: e.type, reason: e.reason, message: e.message.slice(0, 1024) });
    if (p.deleting) {
      // Only the removal's progress: the rest of the status describes the policy as it was.
      if (rollout?.rollout) statuses.set(p.name, removalStatus(p, rollout, now));
      continue;
    }
    const matched = linux.filter((n) => p.prepared.spec !== undefined && selects(p.prepared, n.judged));
    const report = evaluatePrepared(
      p.prepared,
      matched.map((n) => n.judged),
    );
    const progress = new Map<string, NodeProgress>();
    const withheld: WithheldKey[] = [];
    const situations = new Situations();
    let plan: Plan | undefined;
    if (p.policyDenied) {
      for (const n of matched) progress.set(n.name, { state: "pending" });
    } else if (p.prepared.mode === "DryRun") {
      const rows = planRows(p, view.policies, matched);
      for (const n of matched) {
        const rejectedRow = rows.find((r) => r.node === n.name && r.action === "Rejected");
        progress.set(n.name, rejectedRow ? { state: "rejected", ...(rejectedRow.reason ? { reason: rejectedRow.reason } : {}) } : { state: "pending" });
      }
      plan = boundedPlan(rows);
    } else {
      for (const n of matched) {
        const outcome = desired.get(n.name)?.policies.get(p.name);
        if (!outcome) continue;
        const progressed = nodeProgress(outcome, p.generation, observedOf(n));
        progress.set(n.name, progressed);
        if (outcome.kind === "rejected") {
          const f = outcome.findings[0];
          situations.add("Rejected", `${f?.rule ?? ""} ${f?.sysctl ?? ""}`, n.name, progressed.reason ?? "denied by the rule engine");
          continue;
        }
        for (const w of outcome.withheld) {
          withheld.push({ node: n.name, ...w });
          situations.add(w.reason, `${w.sysctl} ${w.policies.join(",")}`, n.name, w.message);
        }
      }
    }
    for (const e of situations.events()) events.push({ policy: p.name, policyUid: p.uid, type: "Warning", ...e });
    const input = { policy: p, report, progress, withheld, rollout: decision.progress.get(p.name), plan };
    statuses.set(p.name, policyStatus(input, p.status?.conditions, now));
  }
  const finalizers: FinalizerChange[] = [];
  for (const p of view.policies) {
    const has = p.finalizers.includes(ROLLOUT_FINALIZER);
    const gated = !p.policyDenied && p.prepared.mode === "Enforce" && p.rollout !== undefined;
    if (!p.deleting && gated && !has) finalizers.push({ policy: p.name, resourceVersion: p.resourceVersion, finalizers: [...p.finalizers, ROLLOUT_FINALIZER] });
    if (p.deleting && has) {
      const timedOut = p.deletedAt !== undefined && now.getTime() - Date.parse(p.deletedAt) > REMOVAL_TIMEOUT_MS;
      const done = !gated || decision.progress.get(p.name)?.complete === true;
      if (done || timedOut)
        finalizers.push({ policy: p.name, resourceVersion: p.resourceVersion, finalizers: p.finalizers.filter((f) => f !== ROLLOUT_FINALIZER) });
    }
  }
  return { nodes, statuses, events, finalizers, requeueAfterMs: decision.requeueAfterMs };
}

/** A deleted policy's status while its keys leave the nodes: status.rollout and the rollout's conditions. */
function removalStatus(p: PolicyView, rollout: RolloutProgress, now: Date): PolicyStatus {
  let conditions = [...(p.status?.conditions ?? [])];
  for (const c of rollout.conditions ?? []) conditions = setCondition(conditions, c, now);
  return { ...(p.status ?? {}), observedGeneration: p.generation, conditions, ...(rollout.rollout ? { rollout: rollout.rollout } : {}) };
}

const EVENT_NODES_MAX = 10;

/**
 * One Event per situation of a policy (a reason on one key, or one rule's rejection), naming its
 * nodes (the first ten and how many in all) and the first node's message: a conflict across 5,000
 * nodes is one Event, not 5,000, and it still names a node and the key.
 */
class Situations {
  private readonly groups = new Map<string, { reason: string; nodes: string[]; message: string }>();

  add(reason: string, what: string, node: string, message: string): void {
    const key = `${reason}\u0000${what}`;
    const g = this.groups.get(key);
    if (g) g.nodes.push(node);
    else this.groups.set(key, { reason, nodes: [node], message });
  }

  events(): { reason: string; message: string }[] {
    return [...this.groups.values()].map((g) => {
      const names = g.nodes.slice(0, EVENT_NODES_MAX).join(", ") + (g.nodes.length > EVENT_NODES_MAX ? ` and ${g.nodes.length - EVENT_NODES_MAX} more` : "");
      const prefix =
        g.reason === "Rejected"
          ? `rejected on ${g.nodes.length} node(s) (${names}), nothing of this policy is applied there; on ${g.nodes[0]}: `
          : `on ${g.nodes.length} node(s) (${names}): `;
      return { reason: g.reason, message: `${prefix}${g.message}`.slice(0, 1024) };
    });
  }
}
