import type { Finding } from "./finding.js";
import { referenceText } from "./finding.js";
import type { PreparedNode } from "./node-facts.js";
import { preparePolicy, type PreparedPolicy } from "./prepared-policy.js";
import type { Report, Rule } from "./rule.js";
import { RULES } from "./checks/index.js";

export type NodeVerdict = "allowed" | "denied" | "skipped";
export type PolicyVerdict = "allowed" | "denied";

export interface NodeReport {
  readonly node: string;
  readonly verdict: NodeVerdict;
  /** Why a node was skipped. */
  readonly reason?: string;
  readonly findings: readonly Finding[];
}

export interface PolicyReport {
  readonly name: string;
  readonly verdict: PolicyVerdict;
  /** Policy-level findings: the policy alone, whatever the nodes. */
  readonly findings: readonly Finding[];
  /** Matched nodes only (Windows nodes among them as skipped); unmatched nodes are left out. */
  readonly nodes: readonly NodeReport[];
  /** False when no node facts were given: node checks did not run. */
  readonly nodeChecks: boolean;
}

const EMPTY: readonly Finding[] = Object.freeze([]);

/**
 * The one emitter: rules are synchronous and never call the engine back, so a single collector
 * serves every (rule, node) pair. Nothing is allocated until a rule actually reports something.
 */
const collector = {
  rule: undefined as Rule | undefined,
  node: undefined as string | undefined,
  out: undefined as Finding[] | undefined,
  denied: false,
  emit(r: Report): void {
    const rule = collector.rule;
    if (!rule) return;
    const severity = r.severity ?? rule.severity;
    const f: { -readonly [K in keyof Finding]: Finding[K] } = {
      rule: rule.id,
      severity,
      message: r.message,
      reference: referenceText(r.reference ?? rule.reference),
    };
    if (r.sysctl !== undefined) f.sysctl = r.sysctl;
    if (r.value !== undefined) f.value = r.value;
    if (r.index !== undefined) f.index = r.index;
    if (collector.node !== undefined) f.node = collector.node;
    (collector.out ??= []).push(f);
    if (severity === "deny") collector.denied = true;
  },
};
const emit = collector.emit;

function begin(node: string | undefined): void {
  collector.node = node;
  collector.out = undefined;
  collector.denied = false;
}

/** Policy-level findings. Pure; never throws for any input shape. */
export function checkPolicyAlone(policy: PreparedPolicy, rules: readonly Rule[] = RULES): Finding[] {
  begin(undefined);
  for (const rule of rules) {
    if (!rule.checkPolicy) continue;
    collector.rule = rule;
    rule.checkPolicy(policy, emit);
  }
  const out = collector.out ?? [];
  collector.out = undefined;
  return out;
}

/** Whether a policy targets a node at all (Windows nodes are targeted as "skipped"). */
export function selects(policy: PreparedPolicy, node: PreparedNode): boolean {
  return policy.spec !== undefined && policy.matches(node.labels);
}

const selectedForDefaultRules = new WeakMap<PreparedPolicy, readonly Rule[]>();

/** The node rules that can fire for this policy on some node: chosen once per policy. */
export function nodeRulesFor(policy: PreparedPolicy, rules: readonly Rule[] = RULES): readonly Rule[] {
  if (rules === RULES) {
    const cached = selectedForDefaultRules.get(policy);
    if (cached) return cached;
  }
  const selected = policy.spec === undefined ? [] : rules.filter((r) => r.checkNode !== undefined && (r.nodeCheckApplies?.(policy) ?? true));
  if (rules === RULES) selectedForDefaultRules.set(policy, selected);
  return selected;
}

/** Judges one prepared node (or a class's stand-in) with the rules chosen for the policy. */
export function judgeOnNode(policy: PreparedPolicy, node: PreparedNode, nodeRules: readonly Rule[]): NodeReport {
  if (!node.linux) return { node: node.name, verdict: "skipped", reason: `not a Linux node (${node.os})`, findings: EMPTY };
  begin(node.name);
  for (const rule of nodeRules) {
    collector.rule = rule;
    (rule.checkNode as NonNullable<Rule["checkNode"]>)(policy, node, emit);
  }
  const findings = collector.out ?? EMPTY;
  const verdict = collector.denied ? "denied" : "allowed";
  collector.out = undefined;
  return { node: node.name, verdict, findings };
}

/** Judges one policy on one node it selects. */
export function checkOnNode(policy: PreparedPolicy, node: PreparedNode, rules: readonly Rule[] = RULES): NodeReport {
  return judgeOnNode(policy, node, nodeRulesFor(policy, rules));
}

/**
 * THE judgement, shared by the webhook, the controller and the CLI: a policy document of any shape,
 * against the prepared nodes (omit them for policy-level checks only). Pure; never throws.
 */
export function evaluatePolicy(doc: unknown, nodes?: readonly PreparedNode[]): PolicyReport {
  return evaluatePrepared(preparePolicy(doc), nodes);
}

export function evaluatePrepared(policy: PreparedPolicy, nodes?: readonly PreparedNode[]): PolicyReport {
  const findings = checkPolicyAlone(policy);
  let denied = findings.some((f) => f.severity === "deny");
  const reports: NodeReport[] = [];
  if (nodes && policy.spec !== undefined) {
    const nodeRules = nodeRulesFor(policy);
    const matches = policy.matches;
    for (const node of nodes) {
      if (!matches(node.labels)) continue;
      const r = judgeOnNode(policy, node, nodeRules);
      if (r.verdict === "denied") denied = true;
      reports.push(r);
    }
  }
  return { name: policy.name, verdict: denied ? "denied" : "allowed", findings, nodes: reports, nodeChecks: nodes !== undefined };
}
