import type { Finding, NodeVerdict, PolicyReport, PolicyVerdict, PreparedNode, Severity } from "../rules/index.js";
import type { PolicyInput } from "./input.js";
import type { InputError, SourceLocation } from "./source.js";

/** A finding with where its sysctl entry is written, when it concerns one. */
export interface LocatedFinding extends Finding {
  readonly location?: SourceLocation;
}

export interface NodeResult {
  readonly node: string;
  readonly verdict: NodeVerdict;
  readonly kernel?: string;
  readonly reason?: string;
  readonly findings: readonly LocatedFinding[];
}

export interface PolicyResult {
  readonly name: string;
  readonly source: SourceLocation;
  readonly verdict: PolicyVerdict;
  readonly mode: string;
  /** Policy-level findings: the policy alone, whatever the nodes. */
  readonly findings: readonly LocatedFinding[];
  /** Matched nodes (non-Linux ones as skipped); unmatched nodes are left out. */
  readonly nodes: readonly NodeResult[];
  readonly nodeChecks: boolean;
}

export interface CheckSummary {
  readonly policies: number;
  readonly allowed: number;
  readonly denied: number;
  readonly denyFindings: number;
  readonly warnFindings: number;
  /** Nodes read from --nodes (undefined without it). */
  readonly nodes?: { readonly total: number; readonly linux: number; readonly skipped: number };
}

export interface CheckReport {
  readonly policies: readonly PolicyResult[];
  readonly summary: CheckSummary;
  readonly notes: readonly string[];
  readonly errors: readonly InputError[];
}

/** The entry a finding is about: the engine's index when it gives one, else the first entry with that name and value. */
export function entryIndex(finding: Finding, sysctls: readonly { name: string; value: string }[]): number | undefined {
  const given = (finding as { index?: unknown }).index;
  if (typeof given === "number" && given >= 0 && given < sysctls.length) return given;
  if (finding.sysctl === undefined) return undefined;
  let i = sysctls.findIndex((s) => s.name === finding.sysctl && s.value === finding.value);
  if (i < 0) i = sysctls.findIndex((s) => s.name === finding.sysctl);
  return i < 0 ? undefined : i;
}

function locateFindings(findings: readonly Finding[], input: PolicyInput): LocatedFinding[] {
  return findings.map((f) => {
    const i = entryIndex(f, input.policy.spec.sysctls);
    if (i === undefined) return f;
    const pos = input.entryPosition(i);
    return { ...f, location: { file: input.file, line: pos.line, column: pos.column } };
  });
}

/** One policy's result: the engine's report with source positions and node kernels added. */
export function policyResult(input: PolicyInput, report: PolicyReport, nodesByName: ReadonlyMap<string, PreparedNode>): PolicyResult {
  return {
    name: report.name,
    source: { file: input.file, line: input.start.line, column: input.start.column },
    verdict: report.verdict,
    mode: input.policy.spec.mode ?? "Enforce",
    findings: locateFindings(report.findings, input),
    nodes: report.nodes.map((n) => {
      const kernel = nodesByName.get(n.node)?.kernelText;
      return {
        node: n.node,
        verdict: n.verdict,
        ...(kernel ? { kernel } : {}),
        ...(n.reason !== undefined ? { reason: n.reason } : {}),
        findings: locateFindings(n.findings, input),
      };
    }),
    nodeChecks: report.nodeChecks,
  };
}

export function summarize(policies: readonly PolicyResult[], nodes: readonly PreparedNode[] | undefined): CheckSummary {
  let denyFindings = 0;
  let warnFindings = 0;
  const count = (fs: readonly Finding[]) => {
    for (const f of fs) {
      if (f.severity === "deny") denyFindings++;
      else warnFindings++;
    }
  };
  for (const p of policies) {
    count(p.findings);
    for (const n of p.nodes) count(n.findings);
  }
  const denied = policies.filter((p) => p.verdict === "denied").length;
  const linux = nodes?.filter((n) => n.linux).length ?? 0;
  return {
    policies: policies.length,
    allowed: policies.length - denied,
    denied,
    denyFindings,
    warnFindings,
    ...(nodes ? { nodes: { total: nodes.length, linux, skipped: nodes.length - linux } } : {}),
  };
}

/** Findings of one policy that say the same thing, with the nodes they concern. */
export interface FindingGroup {
  readonly rule: string;
  readonly severity: Severity;
  readonly sysctl?: string;
  readonly value?: string;
  /** The first finding's message (it may name the first node). */
  readonly message: string;
  readonly reference: string;
  /** Empty for a policy-level finding. */
  readonly nodes: readonly string[];
  readonly location?: SourceLocation;
}

/**
 * Groups a policy's findings: policy-level findings stay one each; node findings with the same
 * rule, sysctl and message (once the node's name and kernel are taken out) become one group naming
 * the nodes. Denials first, then by rule id, then in order of appearance.
 */
export function groupFindings(policy: PolicyResult): FindingGroup[] {
  const groups: (FindingGroup & { nodes: string[]; order: number })[] = [];
  const byKey = new Map<string, FindingGroup & { nodes: string[]; order: number }>();
  for (const f of policy.findings) groups.push({ ...groupOf(f), nodes: [], order: groups.length });
  for (const n of policy.nodes) {
    for (const f of n.findings) {
      let generic = f.message.split(n.node).join("\u0000node");
      if (n.kernel) generic = generic.split(n.kernel).join("\u0000kernel");
      const key = [f.rule, f.severity, f.sysctl ?? "", f.value ?? "", generic].join("\u0001");
      const existing = byKey.get(key);
      if (existing) existing.nodes.push(n.node);
      else {
        const g = { ...groupOf(f), nodes: [n.node], order: groups.length };
        byKey.set(key, g);
        groups.push(g);
      }
    }
  }
  const rank = (s: Severity): number => (s === "deny" ? 0 : 1);
  groups.sort((a, b) => rank(a.severity) - rank(b.severity) || (a.rule < b.rule ? -1 : a.rule > b.rule ? 1 : 0) || a.order - b.order);
  return groups.map(({ order: _order, ...g }) => g);
}

function groupOf(f: LocatedFinding): Omit<FindingGroup, "nodes"> {
  return {
    rule: f.rule,
    severity: f.severity,
    ...(f.sysctl !== undefined ? { sysctl: f.sysctl } : {}),
    ...(f.value !== undefined ? { value: f.value } : {}),
    message: f.message,
    reference: f.reference,
    ...(f.location ? { location: f.location } : {}),
  };
}

/** "a, b, c +N more": a bounded list of names. */
export function boundedList(names: readonly string[], max = 5): string {
  if (names.length <= max) return names.join(", ");
  return `${names.slice(0, max).join(", ")} +${names.length - max} more`;
}

export function exitCodeOf(report: CheckReport): number {
  if (report.errors.length > 0) return 2;
  return report.summary.denied > 0 ? 1 : 0;
}
