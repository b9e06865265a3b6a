import { readdir, readFile, stat } from "node:fs/promises";
import path from "node:path";
import type { z } from "zod";
import { API_GROUP, NODE_STATE_KIND, POLICY_KIND } from "../api/v1alpha1/group.js";
import { nodeProbeSchema, nodeStateNodeName, type NodeProbe } from "../api/v1alpha1/node-state.js";
import { policySchema, type Policy } from "../api/v1alpha1/policy.js";
import { nodeInputFromObject, nodeObjectSchema, type NodeInput, type NodeObject } from "../rules/index.js";
import type { CliIo } from "./io.js";
import { parseSource, STDIN_NAME, type InputError, type LocatedObject, type Position } from "./source.js";

/** A TcpTuningPolicy read from an input, valid against the schema, with where it was written. */
export interface PolicyInput {
  readonly policy: Policy;
  readonly file: string;
  readonly start: Position;
  /** Where spec.sysctls[index] is written, when it is. */
  readonly entryPosition: (index: number) => Position;
}

export interface PolicyInputs {
  readonly policies: readonly PolicyInput[];
  readonly errors: readonly InputError[];
  /** How many documents were read that are not policies (ignored). */
  readonly ignored: number;
  readonly files: number;
}

export interface NodeInputs {
  readonly nodes: readonly NodeInput[];
  readonly errors: readonly InputError[];
}

const EXTENSIONS = new Set([".yaml", ".yml", ".json"]);

interface TextSource {
  readonly file: string;
  readonly text: string;
}

function describeError(err: unknown): string {
  if (err && typeof err === "object" && "code" in err) {
    const code = (err as { code?: unknown }).code;
    if (code === "ENOENT") return "no such file or directory";
    if (code === "EACCES") return "permission denied";
  }
  return err instanceof Error ? err.message : String(err);
}

/** The files under a directory with a YAML or JSON extension, recursively, in a stable order. */
async function walk(dir: string, shown: string): Promise<{ resolved: string; shown: string }[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const out: { resolved: string; shown: string }[] = [];
  for (const e of entries) {
    const resolved = path.join(dir, e.name);
    const display = path.join(shown, e.name);
    if (e.isDirectory()) out.push(...(await walk(resolved, display)));
    else if ((e.isFile() || e.isSymbolicLink()) && EXTENSIONS.has(path.extname(e.name).toLowerCase())) out.push({ resolved, shown: display });
  }
  return out;
}

/** Reads every argument: files, directories (recursively), or "-" for standard input (once). */
async function readSources(args: readonly string[], io: CliIo): Promise<{ sources: TextSource[]; errors: InputError[] }> {
  const sources: TextSource[] = [];
  const errors: InputError[] = [];
  let stdinRead = false;
  for (const arg of args) {
    if (arg === "-") {
      if (stdinRead) continue;
      stdinRead = true;
      sources.push({ file: STDIN_NAME, text: await io.readStdin() });
      continue;
    }
    const resolved = path.resolve(io.cwd, arg);
    try {
      const st = await stat(resolved);
      const files = st.isDirectory() ? await walk(resolved, arg) : [{ resolved, shown: arg }];
      for (const f of files) {
        try {
          sources.push({ file: f.shown, text: await readFile(f.resolved, "utf8") });
        } catch (err) {
          errors.push({ file: f.shown, message: `cannot read: ${describeError(err)}` });
        }
      }
    } catch (err) {
      errors.push({ file: arg, message: `cannot read: ${describeError(err)}` });
    }
  }
  return { sources, errors };
}

function issuePath(path: readonly PropertyKey[]): string {
  return path.map((p, i) => (typeof p === "number" ? `[${p}]` : `${i === 0 ? "" : "."}${String(p)}`)).join("");
}

/** zod issues as input errors at the line and column of the offending field (`at`: where the validated part sits in the object). */
function schemaErrors(obj: LocatedObject, what: string, error: z.ZodError, at: readonly PropertyKey[] = []): InputError[] {
  return error.issues.map((issue) => {
    const path = [...at, ...issue.path];
    const where = issuePath(path);
    const last = path[path.length - 1];
    const hint = last === "value" && issue.code === "invalid_type" ? ' (sysctl values are strings: quote them, e.g. value: "1")' : "";
    return { file: obj.file, ...obj.locate(path), message: `${what}: ${where === "" ? "" : `${where}: `}${issue.message}${hint}` };
  });
}

function kindOf(value: unknown): unknown {
  return value && typeof value === "object" && !Array.isArray(value) ? (value as { kind?: unknown }).kind : undefined;
}

/**
 * Whether a document is this project's TcpTuningPolicy: its kind, in the tcptuning.io group (any version,
 * so a wrong version is reported, not skipped) or with no apiVersion at all (reported as a schema error).
 * A kind of the same name in another API group is someone else's resource, and ignored like any other.
 */
function isOurPolicy(value: unknown): boolean {
  if (kindOf(value) !== POLICY_KIND) return false;
  const apiVersion = (value as { apiVersion?: unknown }).apiVersion;
  return typeof apiVersion !== "string" || apiVersion.split("/")[0] === API_GROUP;
}

function nameOf(value: unknown): string {
  const meta = value && typeof value === "object" ? (value as { metadata?: { name?: unknown } }).metadata : undefined;
  return typeof meta?.name === "string" ? meta.name : "(unnamed)";
}

/**
 * Reads the policies in the given inputs. Documents that are not TcpTuningPolicy are ignored;
 * a policy that does not match the schema is an input error at the field's line and column.
 */
export async function readPolicies(args: readonly string[], io: CliIo): Promise<PolicyInputs> {
  const { sources, errors } = await readSources(args, io);
  const policies: PolicyInput[] = [];
  let ignored = 0;
  for (const source of sources) {
    const parsed = parseSource(source.file, source.text);
    errors.push(...parsed.errors);
    for (const obj of parsed.objects) {
      if (!isOurPolicy(obj.value)) {
        ignored++;
        continue;
      }
      const result = policySchema.safeParse(obj.value);
      if (!result.success) {
        errors.push(...schemaErrors(obj, `TcpTuningPolicy ${nameOf(obj.value)} is not valid`, result.error));
        continue;
      }
      policies.push({
        policy: result.data,
        file: obj.file,
        start: obj.start,
        entryPosition: (index) => obj.locate(["spec", "sysctls", index]),
      });
    }
  }
  return { policies, errors, ignored, files: sources.length };
}

/**
 * Reads Node objects: `kubectl get nodes -o yaml|json` output (a List) or single Node documents; and,
 * when the same input holds TcpTuningNodeState objects (`kubectl get ttns -o yaml`), their status.probe,
 * which beats the kernel version string for its node exactly as it does in the webhook.
 */
export async function readNodes(file: string, io: CliIo): Promise<NodeInputs> {
  const { sources, errors } = await readSources([file], io);
  const objects: NodeObject[] = [];
  const probes = new Map<string, NodeProbe>();
  for (const source of sources) {
    const parsed = parseSource(source.file, source.text);
    errors.push(...parsed.errors);
    for (const obj of parsed.objects) {
      const kind = kindOf(obj.value);
      if (kind === NODE_STATE_KIND) {
        const probe = (obj.value as { status?: { probe?: unknown } }).status?.probe;
        const node = nodeStateNodeName(obj.value);
        if (probe === undefined || node === undefined) continue;
        const result = nodeProbeSchema.safeParse(probe);
        if (result.success) probes.set(node, result.data);
        else errors.push(...schemaErrors(obj, `TcpTuningNodeState ${nameOf(obj.value)} is not valid`, result.error, ["status", "probe"]));
        continue;
      }
      if (kind !== "Node") continue;
      const result = nodeObjectSchema.safeParse(obj.value);
      if (!result.success) {
        errors.push(...schemaErrors(obj, `Node ${nameOf(obj.value)} is not valid`, result.error));
        continue;
      }
      objects.push(result.data);
    }
  }
  return { nodes: objects.map((n) => nodeInputFromObject(n, probes.get(n.metadata.name))), errors };
}
