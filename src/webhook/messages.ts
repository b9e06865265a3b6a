import { RULES, groupFindingKinds, type ClassReport, type PolicyReport, type Severity } from "../rules/index.js";

/** A per-node report (the CLI, tests) or a per-class one (admission): the messages are the same. */
type Report = PolicyReport | ClassReport;

/**
 * What a user reads when admission refuses or warns. The apiserver and kubectl print these as they are,
 * and long texts get cut or drown the point, so everything here is bounded:
 * a denial lists each kind of problem once (rule + sysctl) with a few of its nodes and a count of the rest;
 * a warning is one short line per kind of finding.
 */
export const LIMITS = {
  /** Node names shown per group before "and N more". */
  nodesPerGroup: 5,
  /** One group's explanation (the engine's message for the first finding of the group); long enough to keep the fix, which engine messages end with. */
  groupMessage: 900,
  /** The whole denial message. */
  denial: 3000,
  /** One warning; Kubernetes recommends short warnings (well under 256, ideally about 120 characters). */
  warning: 120,
  /** Warnings per response, the last one saying how many were left out. */
  warnings: 12,
} as const;

/** One kind of finding: a rule on a sysctl, with every node it concerns. */
export interface FindingGroup {
  readonly rule: string;
  readonly severity: Severity;
  readonly sysctl: string | undefined;
  /** The message of the most specific finding: the first node's when nodes are concerned. */
  readonly message: string;
  /** Nodes concerned, in report order; empty for a policy-level finding. */
  readonly nodes: readonly string[];
}

const SUMMARIES: ReadonlyMap<string, string> = new Map(RULES.map((r) => [r.id, r.summary]));

/** Groups a report's findings by (severity, rule, sysctl); denials first, then by rule id. */
export function groupFindings(report: Report): FindingGroup[] {
  return groupFindingKinds(report).map(({ first, firstOnNode, nodes }) => ({
    rule: first.rule,
    severity: first.severity,
    sysctl: first.sysctl,
    message: (firstOnNode ?? first).message,
    nodes,
  }));
}

/** Cuts text at a word boundary so that it fits in max characters, marking the cut with an ellipsis. */
export function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  if (max <= 1) return "…".slice(0, max);
  const cut = text.slice(0, max - 1);
  const atWord = text[max - 1] === " ";
  const space = cut.lastIndexOf(" ");
  return `${(atWord || space <= max / 2 ? cut : cut.slice(0, space)).replace(/[\s,;:.]+$/, "")}…`;
}

/** "edge-a, edge-b and 3 more", bounded to `shown` names. */
export function nodeList(nodes: readonly string[], shown: number = LIMITS.nodesPerGroup): string {
  const head = nodes.slice(0, shown);
  const rest = nodes.length - head.length;
  if (rest <= 0) return head.length <= 1 ? head.join("") : `${head.slice(0, -1).join(", ")} and ${head[head.length - 1] ?? ""}`;
  return `${head.join(", ")} and ${rest} more`;
}

function where(g: FindingGroup): string {
  if (g.nodes.length === 0) return "";
  return g.nodes.length === 1 ? ` on node ${g.nodes[0] ?? ""}` : ` on ${g.nodes.length} nodes (${nodeList(g.nodes)})`;
}

/**
 * The denial message: what is refused, then one line per kind of problem, naming the rule, the sysctl,
 * the nodes (bounded) and the engine's explanation with its fix. Never longer than LIMITS.denial.
 */
export function denialMessage(report: Report): string {
  const denials = groupFindings(report).filter((g) => g.severity === "deny");
  const nodes = new Set(denials.flatMap((g) => g.nodes));
  const head = `TcpTuningPolicy "${report.name}" is refused: ${denials.length} problem${denials.length === 1 ? "" : "s"}${nodes.size > 0 ? ` on ${nodes.size} node${nodes.size === 1 ? "" : "s"}` : ""}`;
  const tail = "Run `tcp-tuning check --nodes NODES.yaml` on the policy for every finding.";
  let text = head;
  let shown = 0;
  for (const g of denials) {
    const line = `\n- ${g.rule} ${g.sysctl ?? "(policy)"}${where(g)}: ${clip(g.message, LIMITS.groupMessage)}`;
    const left = denials.length - shown - 1;
    const reserve = (left > 0 ? `\n- and ${left} more problems`.length : 0) + tail.length + 1;
    if (text.length + line.length + reserve > LIMITS.denial) break;
    text += line;
    shown++;
  }
  if (shown < denials.length) text += `\n- and ${denials.length - shown} more problem${denials.length - shown === 1 ? "" : "s"}`;
  return `${text}\n${tail}`;
}

/** One short warning line for a group, fitted to LIMITS.warning by shortening the node list, then the summary. */
export function warningLine(g: FindingGroup, prefix = ""): string {
  const summary = SUMMARIES.get(g.rule) ?? g.message;
  const subject = `${prefix}${g.rule} ${g.sysctl ?? "(policy)"}`;
  const variants =
    g.nodes.length === 0 ? [""] : [` on ${nodeList(g.nodes, 2)}`, ` on ${g.nodes[0] ?? ""}${g.nodes.length > 1 ? ` +${g.nodes.length - 1}` : ""}`];
  for (const v of variants) {
    const line = `${subject}${v}: ${summary}`;
    if (line.length <= LIMITS.warning) return line;
  }
  const base = `${subject}${variants[variants.length - 1] ?? ""}: `;
  return base.length >= LIMITS.warning - 10 ? clip(`${base}${summary}`, LIMITS.warning) : `${base}${clip(summary, LIMITS.warning - base.length)}`;
}

/** Marks a deny finding reported as a warning because the policy is DryRun. */
export const DRY_RUN_PREFIX = "DryRun, would deny ";

/**
 * Admission warnings: one per kind of warn finding; with `dryRun`, the findings that would deny come
 * first, marked as such (a DryRun policy is admitted and audited, not refused).
 */
export function admissionWarnings(report: Report, options: { dryRun: boolean }): string[] {
  const groups = groupFindings(report).filter((g) => g.severity === "warn" || options.dryRun);
  const lines = groups.map((g) => warningLine(g, g.severity === "deny" ? DRY_RUN_PREFIX : ""));
  if (lines.length <= LIMITS.warnings) return lines;
  const kept = lines.slice(0, LIMITS.warnings - 1);
  kept.push(`${lines.length - kept.length} more findings; run tcp-tuning check for all of them`);
  return kept;
}
