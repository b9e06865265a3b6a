import { RULES } from "../../rules/index.js";
import { boundedList, groupFindings, type CheckReport, type FindingGroup, type PolicyResult } from "../report.js";
import { formatLocation } from "../source.js";

export interface TextOptions {
  readonly color: boolean;
  /** Column at which messages wrap. */
  readonly width?: number;
}

type Paint = (text: string) => string;
interface Palette {
  readonly red: Paint;
  readonly yellow: Paint;
  readonly green: Paint;
  readonly dim: Paint;
  readonly bold: Paint;
}

const sgr =
  (open: number, close: number): Paint =>
  (t) =>
    `\u001b[${open}m${t}\u001b[${close}m`;
const plain: Paint = (t) => t;
const COLOURS: Palette = { red: sgr(31, 39), yellow: sgr(33, 39), green: sgr(32, 39), dim: sgr(2, 22), bold: sgr(1, 22) };
const NO_COLOURS: Palette = { red: plain, yellow: plain, green: plain, dim: plain, bold: plain };

/** Whether to colour: only on a terminal, and never when NO_COLOR is set (https://no-color.org). */
export function useColor(isTTY: boolean | undefined, env: Readonly<Record<string, string | undefined>>): boolean {
  return isTTY === true && (env.NO_COLOR === undefined || env.NO_COLOR === "");
}

function wrap(text: string, indent: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/).filter((w) => w !== "")) {
    if (line !== "" && indent.length + line.length + 1 + word.length > width) {
      lines.push(indent + line);
      line = word;
    } else line = line === "" ? word : `${line} ${word}`;
  }
  if (line !== "") lines.push(indent + line);
  return lines;
}

function nodeLine(p: PolicyResult): string {
  const count = (v: string) => p.nodes.filter((n) => n.verdict === v).length;
  const parts = [`${p.nodes.length} matched`];
  const denied = count("denied");
  const allowed = count("allowed");
  const skipped = p.nodes.filter((n) => n.verdict === "skipped");
  if (denied > 0) parts.push(`${denied} denied`);
  if (allowed > 0) parts.push(`${allowed} allowed`);
  if (skipped.length > 0)
    parts.push(
      `${skipped.length} skipped (${boundedList(
        skipped.map((n) => (n.reason ? `${n.node}: ${n.reason}` : n.node)),
        3,
      )})`,
    );
  return `nodes: ${parts.join(", ")}`;
}

interface Cluster {
  readonly groups: FindingGroup[];
}

/** Takes a group's own sysctl and value out of its message, so the same advice for several keys reads once. */
function genericMessage(g: FindingGroup): string {
  let m = g.message;
  if (g.sysctl !== undefined) {
    if (g.value !== undefined) m = m.split(`${g.sysctl}=${g.value}`).join("\u0000sv").split(`"${g.value}"`).join("\u0000v");
    m = m.split(g.sysctl).join("\u0000s");
  }
  return m;
}

/** Groups by rule; within a rule, groups whose message differs only in the sysctl named (and on the same nodes) are one cluster. */
function byRule(groups: readonly FindingGroup[]): { rule: string; severity: FindingGroup["severity"]; clusters: Cluster[] }[] {
  const rules: { rule: string; severity: FindingGroup["severity"]; clusters: Cluster[]; keys: Map<string, Cluster> }[] = [];
  for (const g of groups) {
    let r = rules.find((x) => x.rule === g.rule && x.severity === g.severity);
    if (!r) {
      r = { rule: g.rule, severity: g.severity, clusters: [], keys: new Map() };
      rules.push(r);
    }
    const key = `${genericMessage(g)}\u0001${g.nodes.join(",")}`;
    const cluster = r.keys.get(key);
    if (cluster) cluster.groups.push(g);
    else {
      const c = { groups: [g] };
      r.keys.set(key, c);
      r.clusters.push(c);
    }
  }
  return rules;
}

const RULE_NAMES = new Map(RULES.map((r) => [r.id, r.name]));

function entryLabel(g: FindingGroup): string {
  // A finding about no sysctl is about the whole policy, or (with nodes) about those nodes themselves.
  const what = g.sysctl === undefined ? (g.nodes.length > 0 ? "(node)" : "(policy)") : g.value === undefined ? g.sysctl : `${g.sysctl}=${g.value}`;
  return g.location?.line !== undefined ? `${what} (line ${g.location.line})` : what;
}

function renderPolicy(p: PolicyResult, c: Palette, width: number): string[] {
  const out: string[] = [];
  const verdict = p.verdict === "denied" ? c.red(c.bold("DENIED ")) : c.green(c.bold("allowed"));
  const mode = p.mode === "DryRun" ? c.dim(" [DryRun]") : "";
  out.push(`${verdict}  ${c.bold(p.name)}${mode}  ${c.dim(formatLocation(p.source))}`);
  if (p.nodeChecks) out.push(`  ${nodeLine(p)}`);
  for (const r of byRule(groupFindings(p))) {
    const label = r.severity === "deny" ? c.red("deny") : c.yellow("warn");
    out.push(`  ${label} ${c.bold(r.rule)} ${c.dim(RULE_NAMES.get(r.rule) ?? "")}`.trimEnd());
    for (const cluster of r.clusters) {
      const first = cluster.groups[0];
      if (!first) continue;
      const where = first.nodes.length > 0 ? ` on ${boundedList(first.nodes)}` : "";
      out.push(...wrap(`${cluster.groups.map(entryLabel).join(", ")}${where}`, "    ", width));
      out.push(...wrap(first.message, "      ", width));
    }
  }
  return out;
}

/** The readable report: per policy its verdict, then its findings grouped by rule with the nodes named. */
export function renderText(report: CheckReport, options: TextOptions): string {
  const c = options.color ? COLOURS : NO_COLOURS;
  const width = options.width ?? 100;
  const out: string[] = [];
  for (const p of report.policies) {
    out.push(...renderPolicy(p, c, width), "");
  }
  for (const note of report.notes) out.push(...wrap(`note: ${note}`, "", width));
  const s = report.summary;
  const policies = `${s.policies} ${s.policies === 1 ? "policy" : "policies"}: ${s.allowed} allowed, ${s.denied > 0 ? c.red(`${s.denied} denied`) : "0 denied"}`;
  const nodes = s.nodes ? `; ${s.nodes.total} ${s.nodes.total === 1 ? "node" : "nodes"} (${s.nodes.linux} Linux, ${s.nodes.skipped} skipped)` : "";
  const findings = `; ${s.denyFindings} deny and ${s.warnFindings} warn findings`;
  const errors = report.errors.length > 0 ? c.red(`; ${report.errors.length} input ${report.errors.length === 1 ? "error" : "errors"} (on stderr)`) : "";
  out.push(c.bold(`${policies}${nodes}${findings}`) + errors);
  return `${out.join("\n")}\n`;
}

/** Input errors, one per line: "file:line:column: message". */
export function renderErrors(report: CheckReport): string {
  return report.errors.map((e) => `${formatLocation(e)}: ${e.message}\n`).join("");
}
