import type { PolicyReport } from "./engine.js";
import type { Finding } from "./finding.js";
import { findingFor, type ClassReport } from "./node-classes.js";

/** One kind of finding in a policy's report: a rule, at one severity, on one sysctl (or on none). */
export interface FindingKind {
  /** The first finding of this kind, policy-level ones before node ones. */
  readonly first: Finding;
  /** The first finding of this kind that concerns a node, when any does: the most specific message. */
  readonly firstOnNode: Finding | undefined;
  /** Every node concerned, in report order; empty for a policy-level finding. */
  readonly nodes: readonly string[];
}

function keyOf(f: Finding): string {
  return `${f.severity}\u0000${f.rule}\u0000${f.sysctl ?? ""}`;
}

/**
 * Groups a report's findings by (severity, rule, sysctl): denials first, then by rule id and sysctl.
 * What the webhook's messages and the policy status summarise from; they differ only in how much of
 * each group they show. A class report gives the same groups, its nodes named class by class.
 */
export function groupFindingKinds(report: PolicyReport | ClassReport): FindingKind[] {
  const groups = new Map<string, { first: Finding; firstOnNode: Finding | undefined; nodes: string[] }>();
  const add = (f: Finding): void => {
    const key = keyOf(f);
    let g = groups.get(key);
    if (!g) {
      g = { first: f, firstOnNode: undefined, nodes: [] };
      groups.set(key, g);
    }
    if (f.node !== undefined) {
      g.firstOnNode ??= f;
      g.nodes.push(f.node);
    }
  };
  report.findings.forEach(add);
  if ("classes" in report) {
    for (const c of report.classes) {
      const [firstNode] = c.nodes;
      if (firstNode === undefined) continue;
      for (const cf of c.findings) {
        const f = findingFor(cf, firstNode);
        add(f);
        // add() named the first node; the class's other nodes have the same finding.
        const g = groups.get(keyOf(f));
        if (g && f.node !== undefined && c.nodes.length > 1) {
          if (g.nodes.length === 1)
            g.nodes = c.nodes.slice(); // the common case: one class names the group
          else g.nodes = g.nodes.concat(c.nodes.slice(1));
        }
      }
    }
  } else {
    for (const n of report.nodes) n.findings.forEach(add);
  }
  return [...groups.values()].sort((a, b) =>
    a.first.severity === b.first.severity
      ? a.first.rule.localeCompare(b.first.rule) || (a.first.sysctl ?? "").localeCompare(b.first.sysctl ?? "")
      : a.first.severity === "deny"
        ? -1
        : 1,
  );
}
