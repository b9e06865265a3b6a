import { boundedList, groupFindings, type CheckReport } from "../report.js";
import { STDIN_NAME, type SourceLocation } from "../source.js";

/** Workflow command data: %, CR and LF are escaped. */
function escapeData(text: string): string {
  return text.replaceAll("%", "%25").replaceAll("\r", "%0D").replaceAll("\n", "%0A");
}

/** Workflow command properties: also ':' and ','. */
function escapeProperty(text: string): string {
  return escapeData(text).replaceAll(":", "%3A").replaceAll(",", "%2C");
}

function command(kind: "error" | "warning" | "notice", loc: SourceLocation | undefined, title: string | undefined, message: string): string {
  const props: string[] = [];
  if (loc && loc.file !== STDIN_NAME) {
    props.push(`file=${escapeProperty(loc.file)}`);
    if (loc.line !== undefined) props.push(`line=${loc.line}`);
    if (loc.column !== undefined) props.push(`col=${loc.column}`);
  }
  if (title !== undefined) props.push(`title=${escapeProperty(title)}`);
  return `::${kind}${props.length > 0 ? ` ${props.join(",")}` : ""}::${escapeData(message)}`;
}

/**
 * GitHub Actions workflow commands: one `::error` (deny) or `::warning` (warn) annotation per group
 * of findings, at the sysctl entry's line; input errors as `::error`; then a plain summary line.
 */
export function renderGithub(report: CheckReport): string {
  const out: string[] = [];
  for (const e of report.errors) out.push(command("error", e, "tcp-tuning: input error", e.message));
  for (const p of report.policies) {
    for (const g of groupFindings(p)) {
      const nodes = g.nodes.length > 0 ? ` (nodes: ${boundedList(g.nodes, 10)})` : "";
      const title = `${g.rule} ${p.name}${g.sysctl ? ` ${g.sysctl}` : ""}`;
      out.push(command(g.severity === "deny" ? "error" : "warning", g.location ?? p.source, title, `${g.message}${nodes}`));
    }
  }
  for (const note of report.notes) out.push(command("notice", undefined, undefined, note));
  const s = report.summary;
  out.push(
    `tcp-tuning check: ${s.policies} ${s.policies === 1 ? "policy" : "policies"}, ${s.allowed} allowed, ${s.denied} denied; ${s.denyFindings} deny and ${s.warnFindings} warn findings`,
  );
  return `${out.join("\n")}\n`;
}
