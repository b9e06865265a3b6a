/** Builders and checks shared by the rule engine's unit tests. */
import { expect } from "vitest";
import type { NodeProbe } from "../../../src/api/v1alpha1/node-state.js";
import { evaluatePolicy, prepareNode, RULES, type DefaultPlacement, type Finding, type PolicyReport, type PreparedNode } from "../../../src/rules/index.js";

export type Sysctls = readonly (readonly [name: string, value: string])[];

export interface PolicyOptions {
  readonly name?: string;
  readonly nodeSelector?: unknown;
  readonly priority?: number;
  readonly mode?: string;
}

/** A TcpTuningPolicy document, as a user would write it. */
export function policyDoc(sysctls: Sysctls, opts: PolicyOptions = {}): Record<string, unknown> {
  const spec: Record<string, unknown> = { sysctls: sysctls.map(([name, value]) => ({ name, value })) };
  if (opts.nodeSelector !== undefined) spec["nodeSelector"] = opts.nodeSelector;
  if (opts.priority !== undefined) spec["priority"] = opts.priority;
  if (opts.mode !== undefined) spec["mode"] = opts.mode;
  return { apiVersion: "tcptuning.io/v1alpha1", kind: "TcpTuningPolicy", metadata: { name: opts.name ?? "p" }, spec };
}

export interface NodeOptions {
  readonly labels?: Readonly<Record<string, string>>;
  readonly os?: string;
  readonly probe?: { readonly kernelRelease?: string; readonly keys: NodeProbe["keys"] };
  readonly defaults?: DefaultPlacement;
}

/** Placement labels that declare "no NAT, no SNAT balancer": the quietest placement. */
export const NO_NAT = { "tcptuning.io/nat": "none", "tcptuning.io/load-balancer": "none" } as const;

export function node(name: string, kernel: string | undefined, opts: NodeOptions = {}): PreparedNode {
  const probe = opts.probe ? { kernelRelease: opts.probe.kernelRelease ?? kernel ?? "", probedAt: "2026-01-01T00:00:00Z", keys: opts.probe.keys } : undefined;
  return prepareNode({ name, labels: opts.labels ?? { ...NO_NAT }, operatingSystem: opts.os ?? "linux", kernelVersion: kernel, probe }, opts.defaults);
}

/** Every finding of a report: policy-level first, then per node. */
export function allFindings(report: PolicyReport): Finding[] {
  return [...report.findings, ...report.nodes.flatMap((n) => n.findings)];
}

export function findingsOf(report: PolicyReport, rule: string): Finding[] {
  return allFindings(report).filter((f) => f.rule === rule);
}

export function evaluate(sysctls: Sysctls, nodes?: readonly PreparedNode[], opts: PolicyOptions = {}): PolicyReport {
  return evaluatePolicy(policyDoc(sysctls, opts), nodes);
}

/** Words a message uses when it says what to do instead. */
const FIX =
  /\b(Remove|Use|Set|Keep|Start|Make|Add|Fix|Reserve|Drop|Leave|Name|Wait|Narrow|Exclude|Nothing to change|Nothing to do|Lower|Raise|Write|Move|Run|[Nn]othing to change|set (?:it|them) per pod)\b/;

/** The shape every finding must have: rule id, severity, node, sysctl, value, a message naming them and a fix, a reference. */
export function expectWellFormed(f: Finding, expected: { readonly node?: string; readonly sysctl?: string }): void {
  const rule = RULES.find((r) => r.id === f.rule);
  expect(rule, `finding names a rule in RULES: ${f.rule}`).toBeDefined();
  expect(["deny", "warn"]).toContain(f.severity);
  expect(f.reference.trim()).not.toBe("");
  expect(f.message.trim()).not.toBe("");
  expect(f.message, "the message says what to do instead").toMatch(FIX);
  if (expected.node !== undefined) {
    expect(f.node).toBe(expected.node);
    expect(f.message).toContain(expected.node);
  }
  if (expected.sysctl !== undefined) {
    expect(f.sysctl).toBe(expected.sysctl);
    expect(f.message).toContain(expected.sysctl);
  }
  if (f.node !== undefined) expect(f.message, "a node finding names its node").toContain(f.node);
  if (f.sysctl !== undefined) {
    expect(f.message, "a finding about a sysctl names it").toContain(f.sysctl);
    expect(f.value, "a finding about a sysctl carries its value").toBeTypeOf("string");
    expect(f.index, "a finding about a sysctl points at its entry").toBeTypeOf("number");
  }
}
