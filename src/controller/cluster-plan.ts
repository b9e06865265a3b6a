import type { DesiredSysctl } from "../api/v1alpha1/node-state.js";
import type { Plan, PolicyStatus, WithheldKey } from "../api/v1alpha1/policy.js";
import { evaluatePrepared, selects } from "../rules/index.js";
import type { ClusterView, NodeView } from "./cluster-view.js";
import { boundedPlan, planRows } from "./dry-run-plan.js";
import { desiredForNode, type NodeDesired } from "./node-desired.js";
import { nodeProgress, type NodeProgress, type ObservedNodeState } from "./node-progress.js";
import { policyStatus } from "./policy-status.js";
import type { GateNode, GatePolicy, RolloutGate } from "./rollout-gate.js";

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

export interface ClusterPlan {
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

  const enforce = view.policies.filter((p) => !p.policyDenied && !p.deleting && p.prepared.mode === "Enforce");
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
    nodes: linux.filter((n) => desired.get(n.name)?.policies.get(p.name)?.kind === "active").map((n) => n.name),
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
    if (p.deleting) continue;
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
  return { nodes, statuses, events, requeueAfterMs: decision.requeueAfterMs };
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
