import type { Finding, Severity } from "./finding.js";
import { referenceText } from "./finding.js";
import type { PreparedNode } from "./node-facts.js";
import { preparePolicy, type PreparedPolicy } from "./prepared-policy.js";
import type { Emit, Rule } from "./rule.js";
import { RULES } from "./rules/index.js";

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

function emitter(rule: Rule, out: Finding[], node: string | undefined): Emit {
  return (r) => {
    const f: { -readonly [K in keyof Finding]: Finding[K] } = {
      rule: rule.id,
      severity: r.severity ?? rule.severity,
      message: r.message,
      reference: referenceText(r.reference ?? rule.reference),
    };
    if (r.sysctl !== undefined) f.sysctl = r.sysctl;
    if (r.value !== undefined) f.value = r.value;
    if (node !== undefined) f.node = node;
    out.push(f);
  };
}

function hasDeny(findings: readonly Finding[]): boolean {
  return findings.some((f) => f.severity === ("deny" satisfies Severity));
}

/** Policy-level findings. Pure; never throws for any input shape. */
export function checkPolicyAlone(policy: PreparedPolicy, rules: readonly Rule[] = RULES): Finding[] {
  const out: Finding[] = [];
  for (const rule of rules) rule.checkPolicy?.(policy, emitter(rule, out, undefined));
  return out;
}

/** Whether a policy targets a node at all (Windows nodes are targeted as "skipped"). */
export function selects(policy: PreparedPolicy, node: PreparedNode): boolean {
  return policy.spec !== undefined && policy.matches(node.labels);
}

/** Judges one policy on one node it selects. */
export function checkOnNode(policy: PreparedPolicy, node: PreparedNode, rules: readonly Rule[] = RULES): NodeReport {
  if (!node.linux) return { node: node.name, verdict: "skipped", reason: `not a Linux node (${node.os})`, findings: EMPTY };
  let out: Finding[] | undefined;
  for (const rule of rules) {
    if (!rule.checkNode) continue;
    out ??= [];
    rule.checkNode(policy, node, emitter(rule, out, node.name));
  }
  const findings = out && out.length > 0 ? out : EMPTY;
  return { node: node.name, verdict: hasDeny(findings) ? "denied" : "allowed", findings };
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
  const reports: NodeReport[] = [];
  if (nodes) {
    for (const node of nodes) if (selects(policy, node)) reports.push(checkOnNode(policy, node));
  }
  const denied = hasDeny(findings) || reports.some((r) => r.verdict === "denied");
  return { name: policy.name, verdict: denied ? "denied" : "allowed", findings, nodes: reports, nodeChecks: nodes !== undefined };
}
