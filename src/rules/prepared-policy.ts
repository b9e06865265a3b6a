import { policySpecSchema, DEFAULT_MODE, DEFAULT_PRIORITY, type PolicyMode, type PolicySpec } from "../api/v1alpha1/policy.js";
import { lookupSysctl, type SysctlSpec } from "./catalog.js";
import { compileSelector, type LabelMatcher } from "./label-selector.js";
import { parseValue, type ParsedValue } from "./value-grammar.js";

/** One requested sysctl, with what the catalog says of it. */
export interface PreparedEntry {
  readonly index: number;
  readonly name: string;
  readonly value: string;
  /** The catalog entry, when the name is a known key. */
  readonly spec: SysctlSpec | undefined;
  /** The parsed value, when the key is known and the value fits its grammar. */
  readonly parsed: ParsedValue | undefined;
  /** The value with whitespace normalised, as the kernel prints it. */
  readonly normalized: string;
  readonly parseError: string | undefined;
  /** A later entry with the same name: only the first one is judged on nodes. */
  readonly duplicate: boolean;
}

/** One reason the document is not a valid TcpTuningPolicy. */
export interface SchemaIssue {
  /** "spec.sysctls[0].value: Invalid input: expected string, received number" */
  readonly text: string;
  /** The spec.sysctls entry the issue is in, when it is in one. */
  readonly index?: number;
  /** That entry's name, when it has a string one. */
  readonly sysctl?: string;
  /** That entry's value, when it has a string one. */
  readonly value?: string;
}

/** A policy digested once: its spec, its selector compiled and each value parsed. */
export interface PreparedPolicy {
  readonly name: string;
  /** The schema errors, when the document is not a valid TcpTuningPolicy. */
  readonly schemaErrors: readonly string[];
  /** The same errors, with the sysctl entry each is about. */
  readonly schemaIssues: readonly SchemaIssue[];
  readonly spec: PolicySpec | undefined;
  readonly mode: PolicyMode;
  readonly priority: number;
  readonly matches: LabelMatcher;
  readonly entries: readonly PreparedEntry[];
  /** First entry per name. */
  readonly byName: ReadonlyMap<string, PreparedEntry>;
  /** Entries known to the catalog with a valid value: the only ones node rules look at. */
  readonly judgeable: readonly PreparedEntry[];
}

const MATCH_NOTHING: LabelMatcher = () => false;

function nameOf(doc: unknown): string {
  if (doc && typeof doc === "object") {
    const meta = (doc as { metadata?: unknown }).metadata;
    if (meta && typeof meta === "object") {
      const n = (meta as { name?: unknown }).name;
      if (typeof n === "string" && n !== "") return n;
    }
  }
  return "(unnamed)";
}

function issueOf(path: readonly PropertyKey[], message: string, spec: unknown): SchemaIssue {
  const text = `spec${path.map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`)).join("")}: ${message}`;
  const [field, index] = path;
  if (field !== "sysctls" || typeof index !== "number") return { text };
  const sysctls = spec && typeof spec === "object" ? (spec as { sysctls?: unknown }).sysctls : undefined;
  const entry: unknown = Array.isArray(sysctls) ? sysctls[index] : undefined;
  const name = entry && typeof entry === "object" ? (entry as { name?: unknown }).name : undefined;
  const value = entry && typeof entry === "object" ? (entry as { value?: unknown }).value : undefined;
  if (typeof name !== "string") return { text, index };
  return typeof value === "string" ? { text, index, sysctl: name, value } : { text, index, sysctl: name, value: JSON.stringify(value) ?? "" };
}

/** Digests a policy document of any shape. Never throws. */
export function preparePolicy(doc: unknown): PreparedPolicy {
  const name = nameOf(doc);
  const specInput = doc && typeof doc === "object" ? (doc as { spec?: unknown }).spec : undefined;
  const parsed = policySpecSchema.safeParse(specInput);
  if (!parsed.success) {
    const schemaIssues = parsed.error.issues.map((i) => issueOf(i.path, i.message, specInput));
    const schemaErrors = schemaIssues.map((i) => i.text);
    return {
      name,
      schemaErrors,
      schemaIssues,
      spec: undefined,
      mode: DEFAULT_MODE,
      priority: DEFAULT_PRIORITY,
      matches: MATCH_NOTHING,
      entries: [],
      byName: new Map(),
      judgeable: [],
    };
  }
  const spec = parsed.data;
  const byName = new Map<string, PreparedEntry>();
  const entries: PreparedEntry[] = [];
  const judgeable: PreparedEntry[] = [];
  spec.sysctls.forEach((s, index) => {
    const catalogSpec = lookupSysctl(s.name);
    const result = catalogSpec ? parseValue(catalogSpec.grammar, s.value) : undefined;
    const duplicate = byName.has(s.name);
    const entry: PreparedEntry = {
      index,
      name: s.name,
      value: s.value,
      spec: catalogSpec,
      parsed: result?.ok ? result.value : undefined,
      normalized: result?.ok ? result.normalized : s.value.trim().split(/\s+/).join(" "),
      parseError: result && !result.ok ? result.reason : undefined,
      duplicate,
    };
    entries.push(entry);
    if (!duplicate) {
      byName.set(s.name, entry);
      if (entry.parsed) judgeable.push(entry);
    }
  });
  return {
    name,
    schemaErrors: [],
    schemaIssues: [],
    spec,
    mode: spec.mode ?? DEFAULT_MODE,
    priority: spec.priority ?? DEFAULT_PRIORITY,
    matches: compileSelector(spec.nodeSelector),
    entries,
    byName,
    judgeable,
  };
}

/** The integer a policy asks for a key, when it asks for one that parsed. */
export function requestedInt(policy: PreparedPolicy, name: string): number | undefined {
  const p = policy.byName.get(name)?.parsed;
  return p && (p.kind === "int" || p.kind === "enum") ? p.value : undefined;
}
