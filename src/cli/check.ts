import { parseArgs } from "node:util";
import {
  classifyNodes,
  evaluateByClass,
  expandClassReport,
  parseDefaultPlacement,
  preparePolicy,
  prepareNode,
  type DefaultPlacement,
  type PreparedNode,
} from "../rules/index.js";
import { readNodes, readPolicies } from "./input.js";
import { CliError, type CliIo } from "./io.js";
import { renderGithub } from "./output/github.js";
import { renderJson } from "./output/json.js";
import { renderSarif } from "./output/sarif.js";
import { renderErrors, renderText, useColor } from "./output/text.js";
import { exitCodeOf, policyResult, summarize, type CheckReport } from "./report.js";
import type { InputError } from "./source.js";
import { packageVersion } from "./version.js";

export const OUTPUT_FORMATS = ["text", "json", "sarif", "github"] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export const CHECK_USAGE = `Usage: tcp-tuning check [--nodes FILE] [--output text|json|sarif|github] [--default-placement SPEC] POLICY_FILE_OR_DIR... | -

Checks TcpTuningPolicy documents offline with the same rule engine as the admission webhook.

Inputs     YAML or JSON files (multi-document, JSON arrays, kind: List), directories (recursively
           *.yaml, *.yml, *.json), or - for standard input. Other kinds of document are ignored.
Options
  --nodes FILE              Node objects as \`kubectl get nodes -o yaml\` prints them (a List) or single
                            Node documents. TcpTuningNodeState objects in the same input
                            (\`kubectl get ttns -o yaml\`) add what the node agent probed, which beats
                            the kernel version, as in the webhook. Without it, only policy-level
                            checks run.
  -o, --output FORMAT       text (default), json, sarif or github (workflow annotations).
  --default-placement SPEC  Placement for nodes without placement labels, e.g.
                            nat=none,load-balancer=dsr,tcp-timestamps=preserved,internet-facing=false,
                            connections=both,nat-idle-timeout-seconds=350 (docs/rules.md lists the
                            labels). Without it, unlabelled nodes are "unknown" and treated as
                            possibly behind NAT.
  -h, --help                This help.

Exit codes 0 nothing denied, 1 a policy is denied, 2 usage error or input that cannot be read or parsed.
`;

export interface CheckOptions {
  readonly inputs: readonly string[];
  readonly nodesFile?: string;
  readonly output: OutputFormat;
  readonly defaultPlacement: DefaultPlacement;
}

/** Parses `check`'s arguments; usage errors throw CliError. Returns undefined for --help. */
export function parseCheckArgs(args: readonly string[]): CheckOptions | undefined {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      allowPositionals: true,
      strict: true,
      options: {
        nodes: { type: "string" },
        output: { type: "string", short: "o", default: "text" },
        "default-placement": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (err) {
    throw new CliError(`check: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  const { values, positionals } = parsed;
  if (values.help) return undefined;
  const output = values.output;
  if (!(OUTPUT_FORMATS as readonly string[]).includes(output)) {
    throw new CliError(`check: unknown output format "${output}": expected one of ${OUTPUT_FORMATS.join(", ")}`);
  }
  if (positionals.length === 0) throw new CliError("check: no policy file, directory or - given");
  let defaultPlacement: DefaultPlacement = {};
  if (values["default-placement"] !== undefined) {
    try {
      defaultPlacement = parseDefaultPlacement(values["default-placement"]);
    } catch (err) {
      throw new CliError(`check: --default-placement: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  }
  return {
    inputs: positionals,
    ...(values.nodes !== undefined ? { nodesFile: values.nodes } : {}),
    output: output as OutputFormat,
    defaultPlacement,
  };
}

/** Reads nodes and policies, judges every policy with the engine, and builds the report. */
export async function buildCheckReport(options: CheckOptions, io: CliIo): Promise<CheckReport> {
  const errors: InputError[] = [];
  const notes: string[] = [];
  let nodes: PreparedNode[] | undefined;
  if (options.nodesFile !== undefined) {
    const read = await readNodes(options.nodesFile, io);
    errors.push(...read.errors);
    if (read.errors.length > 0 && read.nodes.length === 0) {
      notes.push(`node checks were not run: ${options.nodesFile} could not be read.`);
    } else {
      nodes = read.nodes.map((n) => prepareNode(n, options.defaultPlacement));
      if (nodes.length === 0) notes.push(`${options.nodesFile} holds no Node objects: no node matched any policy.`);
    }
  } else {
    notes.push("node checks were not run (kernels, placement): pass --nodes FILE with `kubectl get nodes -o yaml` output.");
  }
  const read = await readPolicies(options.inputs, io);
  errors.push(...read.errors);
  if (read.policies.length === 0 && read.errors.length === 0) {
    notes.push(
      `no TcpTuningPolicy found in ${read.files} ${read.files === 1 ? "file" : "files"}${read.ignored > 0 ? ` (${read.ignored} other documents ignored)` : ""}.`,
    );
  }
  const nodesByName = new Map((nodes ?? []).map((n) => [n.name, n]));
  // Nodes of equal facts are judged once per policy (the per-node report is the same, finding for finding).
  const classes = nodes && classifyNodes(nodes);
  const policies = read.policies.map((input) => policyResult(input, expandClassReport(evaluateByClass(preparePolicy(input.policy), classes)), nodesByName));
  return { policies, summary: summarize(policies, nodes), notes, errors };
}

/** `tcp-tuning check`: prints the report in the chosen format and returns the exit code (0, 1 or 2). */
export async function runCheck(args: readonly string[], io: CliIo): Promise<number> {
  const options = parseCheckArgs(args);
  if (!options) {
    io.stdout.write(CHECK_USAGE);
    return 0;
  }
  const report = await buildCheckReport(options, io);
  switch (options.output) {
    case "text":
      io.stdout.write(renderText(report, { color: useColor(io.stdout.isTTY, io.env) }));
      io.stderr.write(renderErrors(report));
      break;
    case "json":
      io.stdout.write(renderJson(report));
      io.stderr.write(renderErrors(report));
      break;
    case "sarif":
      io.stdout.write(renderSarif(report, packageVersion()));
      io.stderr.write(renderErrors(report));
      break;
    case "github":
      io.stdout.write(renderGithub(report));
      break;
  }
  return exitCodeOf(report);
}
