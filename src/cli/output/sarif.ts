import { RULES } from "../../rules/index.js";
import { boundedList, groupFindings, type CheckReport } from "../report.js";
import { STDIN_NAME, type SourceLocation } from "../source.js";

const SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json";

type Level = "error" | "warning";
const level = (severity: "deny" | "warn"): Level => (severity === "deny" ? "error" : "warning");

/** A relative path as a URI reference against the source root; absolute paths as file: URIs. */
function artifactUri(file: string): { uri: string; uriBaseId?: string } {
  const slashed = file.replaceAll("\\", "/");
  if (slashed.startsWith("/")) return { uri: `file://${encodeURI(slashed)}` };
  return { uri: encodeURI(slashed.replace(/^\.\//, "")), uriBaseId: "%SRCROOT%" };
}

function locations(loc: SourceLocation): object[] {
  if (loc.file === STDIN_NAME) return [];
  const region = loc.line === undefined ? undefined : { startLine: loc.line, ...(loc.column !== undefined ? { startColumn: loc.column } : {}) };
  return [{ physicalLocation: { artifactLocation: artifactUri(loc.file), ...(region ? { region } : {}) } }];
}

/**
 * SARIF 2.1.0: one run, the engine's rules as the driver's rules, one result per group of findings
 * (a policy-level finding, or one finding shared by several nodes) at the sysctl entry's line.
 */
export function renderSarif(report: CheckReport, version: string): string {
  const ruleIndex = new Map(RULES.map((r, i) => [r.id, i]));
  const results: object[] = [];
  for (const p of report.policies) {
    for (const g of groupFindings(p)) {
      const nodes = g.nodes.length > 0 ? ` Nodes: ${boundedList(g.nodes, 10)}.` : "";
      results.push({
        ruleId: g.rule,
        ...(ruleIndex.has(g.rule) ? { ruleIndex: ruleIndex.get(g.rule) } : {}),
        level: level(g.severity),
        message: { text: `${p.name}: ${g.message}${nodes}` },
        locations: locations(g.location ?? p.source),
        properties: {
          policy: p.name,
          ...(g.sysctl !== undefined ? { sysctl: g.sysctl } : {}),
          ...(g.value !== undefined ? { value: g.value } : {}),
          ...(g.nodes.length > 0 ? { nodes: g.nodes, nodeCount: g.nodes.length } : {}),
          reference: g.reference,
        },
      });
    }
  }
  const sarif = {
    $schema: SARIF_SCHEMA,
    version: "2.1.0",
    runs: [
      {
        tool: {
          driver: {
            name: "tcp-tuning",
            version,
            rules: RULES.map((r) => ({
              id: r.id,
              name: r.name,
              shortDescription: { text: r.summary },
              help: { text: r.reference.url ? `${r.summary} See ${r.reference.title}: ${r.reference.url}` : `${r.summary} See ${r.reference.title}.` },
              ...(r.reference.url ? { helpUri: r.reference.url } : {}),
              defaultConfiguration: { level: level(r.severity) },
            })),
          },
        },
        invocations: [
          {
            executionSuccessful: report.errors.length === 0,
            // Input errors, then the notes (e.g. "node checks were not run"), which SARIF has no result for.
            toolExecutionNotifications: [
              ...report.errors.map((e) => ({ level: "error", message: { text: e.message }, locations: locations(e) })),
              ...report.notes.map((note) => ({ level: "note", message: { text: note } })),
            ],
          },
        ],
        results,
      },
    ],
  };
  return `${JSON.stringify(sarif, null, 2)}\n`;
}
