import { PLAN_ITEMS_MAX, type Plan, type PlanAction, type PlanItem } from "../api/v1alpha1/policy.js";
import { normalizeSysctlValue, selects } from "../rules/index.js";
import type { NodeView, PolicyView } from "./cluster-view.js";
import { desiredForNode, ownWithheld } from "./node-desired.js";

/**
 * What a policy would do on every matched Linux node if it were Enforce, next to the real Enforce
 * policies: per key, the agent's current value -> the desired one, or why not (rejected on the node,
 * overridden by a policy of higher precedence, withheld by a conflict or a denied combination).
 * The same computation as the real desired state (desiredForNode with the policy included), so a
 * plan never disagrees with what Enforce does.
 */
export function planRows(policy: PolicyView, views: readonly PolicyView[], nodes: readonly NodeView[]): PlanItem[] {
  const rows: PlanItem[] = [];
  if (policy.prepared.spec === undefined) return rows;
  for (const node of nodes) {
    if (!node.linux || !selects(policy.prepared, node.judged)) continue;
    const outcome = desiredForNode(node, views, policy.name).policies.get(policy.name);
    const probe = new Map((node.state?.object.status?.probe?.keys ?? []).map((k) => [k.name, k]));
    for (const [name, entry] of policy.prepared.byName) {
      const base = { node: node.name, sysctl: name, desired: entry.value };
      const probed = probe.get(name);
      const current = probed?.present && probed.value !== undefined ? probed.value : undefined;
      const withCurrent = current !== undefined ? { ...base, current } : base;
      const row = (action: PlanAction, reason?: string): PlanItem =>
        reason !== undefined ? { ...withCurrent, action, reason: reason.slice(0, 1024) } : { ...withCurrent, action };
      if (!outcome) {
        // Denied as a whole (the policy itself): nothing would apply.
        rows.push(row("Rejected", policy.policyFindings.find((f) => f.severity === "deny")?.message ?? "the policy is denied"));
      } else if (outcome.kind === "rejected") {
        rows.push(row("Rejected", outcome.findings[0]?.message ?? "denied on this node"));
      } else if (outcome.won.some((w) => w.name === name)) {
        rows.push(
          current === undefined
            ? row("Unknown", probed && !probed.present ? `this kernel has no ${name}` : "the node's agent has not reported this key")
            : row(normalizeSysctlValue(current) === entry.normalized ? "NoChange" : "Change"),
        );
      } else {
        const withheld = ownWithheld(outcome).find((w) => w.sysctl === name);
        const by = outcome.overridden.find((o) => o.sysctl === name);
        if (withheld) rows.push(row("Withheld", withheld.message));
        else rows.push(row("Overridden", by ? `policy ${by.by} has precedence on this key` : "another policy has precedence on this key"));
      }
    }
  }
  return rows;
}

const ORDER: Record<PlanAction, number> = { Change: 0, Rejected: 1, Withheld: 1, Overridden: 1, Unknown: 2, NoChange: 3 };

/** The bounded plan for status: counts of everything, the first rows (changes and blocked ones first). */
export function boundedPlan(rows: readonly PlanItem[]): Plan {
  const count = (...a: PlanAction[]): number => rows.filter((r) => a.includes(r.action)).length;
  const items = [...rows]
    .sort((a, b) => ORDER[a.action] - ORDER[b.action] || (a.node < b.node ? -1 : a.node > b.node ? 1 : a.sysctl < b.sysctl ? -1 : 1))
    .slice(0, PLAN_ITEMS_MAX);
  return {
    nodes: new Set(rows.map((r) => r.node)).size,
    changes: count("Change"),
    unchanged: count("NoChange"),
    unknown: count("Unknown"),
    blocked: count("Rejected", "Withheld", "Overridden"),
    items,
  };
}
