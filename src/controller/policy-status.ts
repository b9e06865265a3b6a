import type { Condition } from "../api/v1alpha1/meta.js";
import { FINDING_NODES_MAX, FINDINGS_MAX, type FindingSummary, type NodeCounts, type PolicyMode } from "../api/v1alpha1/policy.js";
import { setCondition } from "../kube/conditions.js";
import { groupFindingKinds, type PolicyReport } from "../rules/index.js";

/** Groups findings by rule and sysctl, deny first, with the nodes each concerns (bounded). */
export function summarizeFindings(report: PolicyReport): FindingSummary[] {
  return groupFindingKinds(report)
    .slice(0, FINDINGS_MAX)
    .map(({ first, nodes }) => {
      const s: FindingSummary = { rule: first.rule, severity: first.severity, message: first.message.slice(0, 2048) };
      if (first.sysctl !== undefined) s.sysctl = first.sysctl;
      if (nodes.length > 0) {
        s.nodes = nodes.slice(0, FINDING_NODES_MAX);
        s.nodeCount = nodes.length;
      }
      return s;
    });
}

/** What the engine alone can say of a policy: matched and rejected nodes, and whether it is accepted. */
export interface EvaluationStatus {
  readonly observedGeneration: number;
  readonly conditions: Condition[];
  readonly nodes: NodeCounts;
  readonly findings: FindingSummary[];
}

/**
 * Status from one evaluation. Enforce policies that the engine denies are not Accepted (nothing is
 * written anywhere); DryRun policies are always Accepted and their findings are the audit.
 * applied/pending/failed counts come from the rollout (node states), so they are passed in.
 */
export function evaluationStatus(
  report: PolicyReport,
  mode: PolicyMode,
  generation: number,
  previous: readonly Condition[] | undefined,
  rollout: Pick<NodeCounts, "applied" | "pending" | "failed">,
  now: Date,
): EvaluationStatus {
  const linux = report.nodes.filter((n) => n.verdict !== "skipped");
  const rejected = linux.filter((n) => n.verdict === "denied").length;
  const findings = summarizeFindings(report);
  const denies = findings.filter((f) => f.severity === "deny");
  let conditions = previous ? [...previous] : [];
  if (mode === "DryRun") {
    conditions = setCondition(conditions, {
      type: "Accepted",
      status: "True",
      reason: denies.length > 0 ? "DryRunWouldBeDenied" : "DryRun",
      message: denies.length > 0 ? `DryRun: Enforce would be denied: ${denies.map((d) => `${d.rule} ${d.sysctl ?? ""}`.trim()).join(", ")}` : "DryRun: validated and planned; nothing is changed on nodes.",
      observedGeneration: generation,
    }, now);
  } else if (report.verdict === "denied") {
    conditions = setCondition(conditions, {
      type: "Accepted",
      status: "False",
      reason: "Denied",
      message: (denies[0]?.message ?? "denied by the rule engine").slice(0, 2048),
      observedGeneration: generation,
    }, now);
  } else {
    conditions = setCondition(conditions, { type: "Accepted", status: "True", reason: "Validated", message: `Allowed on ${linux.length} matched Linux node(s).`, observedGeneration: generation }, now);
  }
  return {
    observedGeneration: generation,
    conditions,
    nodes: { matched: linux.length, rejected, ...rollout },
    findings,
  };
}
