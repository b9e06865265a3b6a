import { parseArgs } from "node:util";
import { CATALOG, catalogNames, closest, lookupSysctl, type NetnsScope, type SysctlSpec, type ValueGrammar } from "../rules/index.js";
import { CliError, EXIT_INPUT, type CliIo } from "./io.js";

export const EXPLAIN_USAGE = `Usage: tcp-tuning explain [--output text|json] [SYSCTL]

Prints what the catalog knows about a sysctl: value grammar and bounds, default, the kernels that have
it, values that need a newer kernel, per-network-namespace behaviour, hazards and references.
Without SYSCTL, lists every sysctl in the catalog.
`;

const NETNS: Record<NetnsScope, string> = {
  "per-netns-default": "per network namespace; a new namespace starts from the kernel's built-in default",
  "per-netns-copied": "per network namespace; a new namespace copies the host's value once, at creation",
  global: "one value for the whole host",
};

function grammarText(g: ValueGrammar): string {
  const unit = "unit" in g && g.unit ? ` (${g.unit})` : "";
  switch (g.kind) {
    case "int":
      return `integer ${g.min}..${g.max}${unit}`;
    case "enum":
      return `one of ${g.values.map((v) => v.value).join(", ")}`;
    case "range":
      return `two integers "low high", ${g.min} <= low <= high <= ${g.max}`;
    case "triple":
      return `three integers "min default max", each >= ${g.min} and <= ${g.max}, non-decreasing${unit}`;
    case "portList":
      return `comma-separated ports and port ranges (a-b) within ${g.min}..${g.max}, or empty`;
  }
}

/** The catalog entry as readable text. */
export function explainText(spec: SysctlSpec): string {
  const out: string[] = [spec.name, `  ${spec.summary}`, ""];
  const row = (label: string, value: string) => out.push(`  ${`${label}:`.padEnd(14)}${value}`);
  row("value", grammarText(spec.grammar));
  if (spec.grammar.kind === "enum") {
    for (const v of spec.grammar.values) {
      const since = v.since ? ` (from ${v.since}${v.sinceRef ? `, ${v.sinceRef}` : ""}${v.olderKernels ? `; ${v.olderKernels}` : ""})` : "";
      out.push(`  ${"".padEnd(14)}${v.value} = ${v.meaning}${since}`);
    }
  }
  row("default", spec.defaultValue);
  row(
    "kernels",
    `${spec.since ? `from ${spec.since}${spec.sinceRef ? ` (${spec.sinceRef})` : ""}` : "all supported kernels"}${spec.removedIn ? `; removed in ${spec.removedIn}${spec.removedRef ? ` (${spec.removedRef})` : ""}` : ""}`,
  );
  if (spec.absentEquivalent !== undefined) row("where absent", `kernels without the key behave as ${spec.name}=${spec.absentEquivalent}`);
  row("namespaces", `${NETNS[spec.netns]}${spec.perNetnsSince ? ` (per namespace from ${spec.perNetnsSince})` : ""}`);
  if (spec.requiresModule) row("module", `exists only with the ${spec.requiresModule} module loaded`);
  if (spec.kubeletSafeSince) row("pods", `pods may set it via securityContext.sysctls from Kubernetes ${spec.kubeletSafeSince}`);
  if (spec.hazards.length > 0) {
    out.push("", "  hazards:");
    for (const h of spec.hazards) out.push(`    - ${h}`);
  }
  if (spec.references.length > 0) {
    out.push("", "  references:");
    for (const r of spec.references) out.push(`    - ${r.title}${r.url ? ` <${r.url}>` : ""}`);
  }
  return `${out.join("\n")}\n`;
}

function listText(): string {
  const width = Math.max(...CATALOG.map((s) => s.name.length));
  return `${CATALOG.map((s) => `${s.name.padEnd(width)}  ${s.summary}`).join("\n")}\n`;
}

/** `tcp-tuning explain [SYSCTL]`: 0 when known, 2 (with a did-you-mean) when not. */
export function runExplain(args: readonly string[], io: CliIo): number {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      allowPositionals: true,
      strict: true,
      options: { output: { type: "string", short: "o", default: "text" }, help: { type: "boolean", short: "h" } },
    });
  } catch (err) {
    throw new CliError(`explain: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.stdout.write(EXPLAIN_USAGE);
    return 0;
  }
  if (values.output !== "text" && values.output !== "json") throw new CliError(`explain: unknown output format "${values.output}": expected text or json`);
  if (positionals.length > 1) throw new CliError("explain: give one sysctl name");
  const name = positionals[0];
  if (name === undefined) {
    io.stdout.write(values.output === "json" ? `${JSON.stringify(CATALOG, null, 2)}\n` : listText());
    return 0;
  }
  // Accept the /proc/sys path form and net/ipv4/... as a convenience; the catalog is dotted.
  const dotted = name.replace(/^\/proc\/sys\//, "").replaceAll("/", ".");
  const spec = lookupSysctl(dotted);
  if (!spec) {
    const suggestion = closest(dotted, catalogNames());
    io.stderr.write(`tcp-tuning: ${name} is not in the catalog.${suggestion ? ` Did you mean ${suggestion}?` : ""} Run \`tcp-tuning explain\` for the list.\n`);
    return EXIT_INPUT;
  }
  io.stdout.write(values.output === "json" ? `${JSON.stringify(spec, null, 2)}\n` : explainText(spec));
  return 0;
}
