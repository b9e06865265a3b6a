import type { Condition } from "../api/v1alpha1/meta.js";
import {
  FINDING_NODES_MAX,
  FINDINGS_MAX,
  WITHHELD_MAX,
  type FindingSummary,
  type NodeCounts,
  type Plan,
  type PolicyStatus,
  type WithheldKey,
} from "../api/v1alpha1/policy.js";
import { setCondition, type ConditionInput } from "../kube/conditions.js";
import { groupFindingKinds, type PolicyReport } from "../rules/index.js";
import type { PolicyView } from "./cluster-view.js";
import type { NodeProgress } from "./node-progress.js";
import type { RolloutProgress } from "./rollout-gate.js";

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

/** Everything the status of one policy is made of. */
export interface PolicyStatusInput {
  readonly policy: PolicyView;
  /** The engine's report of the policy on its matched nodes (findings summary). */
  readonly report: PolicyReport;
  /** Per matched Linux node, by node name (sorted). */
  readonly progress: ReadonlyMap<string, NodeProgress>;
  /** This policy's keys not applied on some node, in node order. */
  readonly withheld: readonly WithheldKey[];
  readonly rollout?: RolloutProgress | undefined;
  /** DryRun policies only. */
  readonly plan?: Plan | undefined;
}

const NAMES_IN_MESSAGE = 5;

/** "a, b, c, d, e and 7 more (first reason)": the nodes of one count, the reason of the first. */
function listNodes(entries: readonly (readonly [string, NodeProgress])[]): string {
  const names =
    entries
      .slice(0, NAMES_IN_MESSAGE)
      .map(([n]) => n)
      .join(", ") + (entries.length > NAMES_IN_MESSAGE ? ` and ${entries.length - NAMES_IN_MESSAGE} more` : "");
  const first = entries[0]?.[1].reason;
  return first ? `${names}; on ${entries[0]?.[0]}: ${first}` : names;
}

/** One line per withheld situation (reason, key, other policies), with how many nodes it concerns. */
function withheldSummary(list: readonly WithheldKey[]): string {
  const groups = new Map<string, { first: WithheldKey; nodes: string[] }>();
  for (const w of list) {
    const key = `${w.reason}\u0000${w.sysctl}\u0000${w.policies.join(",")}`;
    const g = groups.get(key);
    if (g) g.nodes.push(w.node);
    else groups.set(key, { first: w, nodes: [w.node] });
  }
  return [...groups.values()]
    .slice(0, NAMES_IN_MESSAGE)
    .map((g) => `${g.first.message} (${g.nodes.length} node(s) in all)`)
    .join(" | ");
}

function clip(text: string, max = 4096): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/**
 * The status of one policy, kstatus-compatible: every condition carries observedGeneration, and
 * Ready=True only when every matched Linux node where the policy is allowed reports the policy's
 * generation applied and verified. Conditions:
 * - Accepted: the spec is valid and the engine does not deny the policy itself (node-level denials
 *   are rejections on those nodes, not a refusal of the policy).
 * - Progressing: nodes are still pending (not released, or their agent has not reported yet).
 * - Ready: applied everywhere it is allowed (DryRun: planned).
 * - Degraded: a conflict, a withheld combination, a failed node or a rejected node.
 * lastTransitionTime changes only with a condition's status, so an unchanged cluster gives an equal status.
 */
export function policyStatus(input: PolicyStatusInput, previous: readonly Condition[] | undefined, now: Date): PolicyStatus {
  const { policy, report } = input;
  const generation = policy.generation;
  const entries = [...input.progress];
  const of = (s: NodeProgress["state"]): (readonly [string, NodeProgress])[] => entries.filter(([, p]) => p.state === s);
  const applied = of("applied");
  const pending = of("pending");
  const failed = of("failed");
  const rejected = of("rejected");
  const nodes: NodeCounts = { matched: entries.length, applied: applied.length, pending: pending.length, failed: failed.length, rejected: rejected.length };
  const findings = summarizeFindings(report);
  const dryRun = policy.prepared.spec !== undefined && policy.prepared.mode === "DryRun";
  const allowedOn = entries.length - rejected.length;
  let conditions = [...(previous ?? [])];
  const set = (c: Omit<ConditionInput, "observedGeneration">): void => {
    conditions = setCondition(conditions, { ...c, message: clip(c.message), observedGeneration: generation }, now);
  };

  if (policy.policyDenied) {
    const denies = findings.filter((f) => f.severity === "deny");
    const message =
      policy.prepared.schemaErrors.length > 0
        ? `invalid spec: ${policy.prepared.schemaErrors.join("; ")}`
        : (denies[0]?.message ?? "denied by the rule engine");
    set({ type: "Accepted", status: "False", reason: "Denied", message });
    set({ type: "Progressing", status: "False", reason: "Denied", message: "nothing is applied: the policy itself is denied" });
    set({ type: "Ready", status: "False", reason: "Denied", message });
    set({ type: "Degraded", status: "True", reason: "Denied", message });
    return withOptional({ observedGeneration: generation, conditions, nodes: { ...nodes, applied: 0, pending: 0, failed: 0 }, findings }, input);
  }

  if (dryRun) {
    const denies = findings.filter((f) => f.severity === "deny");
    set({
      type: "Accepted",
      status: "True",
      reason: denies.length > 0 ? "DryRunWouldBeDenied" : "DryRun",
      message:
        denies.length > 0
          ? `DryRun: Enforce would be denied: ${denies.map((d) => `${d.rule} ${d.sysctl ?? ""}`.trim()).join(", ")}`
          : "DryRun: validated and planned; nothing is changed on nodes.",
    });
    const plan = input.plan;
    set({ type: "Progressing", status: "False", reason: "DryRun", message: "DryRun: nothing is rolled out" });
    set({
      type: "Ready",
      status: "True",
      reason: "Planned",
      message: plan
        ? `DryRun: ${plan.changes} change(s) on ${plan.nodes} node(s), ${plan.unchanged} already in effect, ${plan.blocked} blocked, ${plan.unknown} unknown`
        : "DryRun: planned",
    });
    set(
      rejected.length > 0
        ? {
            type: "Degraded",
            status: "True",
            reason: "NodesRejected",
            message: `Enforce would be rejected on ${rejected.length} node(s): ${listNodes(rejected)}`,
          }
        : { type: "Degraded", status: "False", reason: "AsPlanned", message: "no matched node would reject it" },
    );
    return withOptional({ observedGeneration: generation, conditions, nodes: { ...nodes, applied: 0, pending: 0, failed: 0 }, findings }, input);
  }

  set({
    type: "Accepted",
    status: "True",
    reason: "Validated",
    message: `Checked by the rule engine on ${entries.length} matched Linux node(s): allowed on ${allowedOn}, rejected on ${rejected.length}.`,
  });
  const rolloutLine = input.rollout?.message;
  set(
    pending.length > 0
      ? {
          type: "Progressing",
          status: "True",
          reason: "Applying",
          message: rolloutLine ?? `${applied.length}/${allowedOn} node(s) applied, ${pending.length} pending: ${listNodes(pending)}`,
        }
      : { type: "Progressing", status: "False", reason: "Complete", message: `every node where the policy is allowed has reported generation ${generation}` },
  );
  const conflicts = input.withheld.filter((w) => w.reason === "Conflict");
  const combos = input.withheld.filter((w) => w.reason === "CombinationDenied");
  if (failed.length === 0 && pending.length === 0) {
    set({
      type: "Ready",
      status: "True",
      reason: "Applied",
      message: `applied and verified on ${applied.length} node(s)${rejected.length > 0 ? `; rejected on ${rejected.length}` : ""}`,
    });
  } else if (failed.length > 0) {
    const reason = conflicts.length > 0 ? "Conflict" : combos.length > 0 ? "CombinationDenied" : "ApplyFailed";
    set({ type: "Ready", status: "False", reason, message: `not applied on ${failed.length} node(s): ${listNodes(failed)}` });
  } else {
    set({ type: "Ready", status: "False", reason: "Progressing", message: `${applied.length}/${allowedOn} node(s) applied` });
  }
  if (conflicts.length > 0) {
    set({
      type: "Degraded",
      status: "True",
      reason: "Conflict",
      message: withheldSummary(conflicts),
    });
  } else if (combos.length > 0) {
    set({
      type: "Degraded",
      status: "True",
      reason: "CombinationDenied",
      message: withheldSummary(combos),
    });
  } else if (failed.length > 0) {
    set({ type: "Degraded", status: "True", reason: "ApplyFailed", message: `failed on ${failed.length} node(s): ${listNodes(failed)}` });
  } else if (rejected.length > 0) {
    set({
      type: "Degraded",
      status: "True",
      reason: "NodesRejected",
      message: `rejected on ${rejected.length} node(s), nothing of it is applied there: ${listNodes(rejected)}`,
    });
  } else {
    set({ type: "Degraded", status: "False", reason: "AsDesired", message: "no conflict, failure or rejected node" });
  }
  // Without spec.rollout everything goes at once: the conditions above say all there is.
  if (policy.rollout !== undefined) conditions = withRolloutConditions(conditions, input.rollout, now);
  return withOptional({ observedGeneration: generation, conditions, nodes, findings }, input);
}

/**
 * What the gradual rollout adds: while it runs, Progressing is its one line; a halt or a node that
 * failed the health gate makes the policy Degraded (a halt wins over other reasons: it is what a
 * person must act on) and keeps it from Ready.
 */
function withRolloutConditions(conditions: Condition[], rollout: RolloutProgress | undefined, now: Date): Condition[] {
  const mine = new Map((rollout?.conditions ?? []).map((c) => [c.type, c]));
  if (!rollout?.rollout || mine.size === 0) return conditions;
  let out = conditions;
  const theirs = (type: string): Condition | undefined => out.find((c) => c.type === type);
  const progressing = mine.get("Progressing");
  if (progressing && !rollout.complete) out = setCondition(out, progressing, now);
  const degraded = mine.get("Degraded");
  if (degraded?.status === "True" && (theirs("Degraded")?.status !== "True" || degraded.reason === "RolloutHalted")) out = setCondition(out, degraded, now);
  const ready = mine.get("Ready");
  if (ready?.status === "False" && theirs("Ready")?.status === "True") out = setCondition(out, ready, now);
  return out;
}

function withOptional(status: PolicyStatus, input: PolicyStatusInput): PolicyStatus {
  const out: PolicyStatus = { ...status };
  if (input.rollout?.rollout) out.rollout = input.rollout.rollout;
  if (input.withheld.length > 0) out.withheld = input.withheld.slice(0, WITHHELD_MAX);
  if (input.plan) out.plan = input.plan;
  return out;
}
