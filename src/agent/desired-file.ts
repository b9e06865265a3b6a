import { isMap, isSeq, LineCounter, parseDocument, type Node } from "yaml";
import { z } from "zod";
import { API_GROUP_VERSION, NODE_STATE_KIND } from "../api/v1alpha1/group.js";
import { desiredSysctlSchema, nodeStateSpecSchema } from "../api/v1alpha1/node-state.js";
import type { AgentSysctl } from "./reconcile.js";

/**
 * The desired-state file of the file backend: a TcpTuningNodeState document (YAML or JSON), of which
 * the agent needs only what it uses: `spec.sysctls` (name and value of each entry). `apiVersion`,
 * `kind`, `metadata.generation`, `spec.nodeName` and each entry's `policy` are optional here (a
 * whole object from `kubectl get -o yaml` is taken too); when given they are checked: `spec.nodeName`
 * must be this node. Unknown fields under `spec` and in an entry are refused, so a typo such as
 * `sysctl:` does not read as "nothing desired" and restore everything.
 *
 * A problem is reported with its field, the limit it breaks and its line, e.g.
 * `line 7: spec.sysctls[0].value: Too big: expected string to have <=256 characters`.
 */

const entrySchema = z.strictObject({
  name: desiredSysctlSchema.shape.name,
  value: desiredSysctlSchema.shape.value,
  policy: desiredSysctlSchema.shape.policy.optional(),
  policyGeneration: desiredSysctlSchema.shape.policyGeneration,
});

const fileDocSchema = z.looseObject({
  apiVersion: z.literal(API_GROUP_VERSION).optional(),
  kind: z.literal(NODE_STATE_KIND).optional(),
  metadata: z.looseObject({ generation: z.number().int().min(0).optional() }).optional(),
  spec: z.strictObject({
    nodeName: nodeStateSpecSchema.shape.nodeName.optional(),
    sysctls: z.array(entrySchema).max(256).optional(),
  }),
});

export type DesiredFileResult =
  | { readonly ok: true; readonly generation: number | undefined; readonly nodeName: string | undefined; readonly sysctls: AgentSysctl[] }
  | { readonly ok: false; readonly problems: string[] };

export function parseDesiredFile(text: string): DesiredFileResult {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  if (doc.errors.length > 0) {
    return { ok: false, problems: doc.errors.map((e) => `line ${lineCounter.linePos(e.pos[0]).line}: not valid YAML: ${e.message.split("\n")[0] ?? e.code}`) };
  }
  const parsed = fileDocSchema.safeParse(doc.toJS(), { reportInput: true });
  if (!parsed.success) {
    return {
      ok: false,
      problems: parsed.error.issues.map((issue) => {
        const path = issue.path.filter((p): p is string | number => typeof p !== "symbol");
        const line = lineOf(doc.contents, path, lineCounter);
        return `${line === undefined ? "" : `line ${line}: `}${pathText(path)}: ${issueText(issue)}`;
      }),
    };
  }
  const { metadata, spec } = parsed.data;
  return {
    ok: true,
    generation: metadata?.generation,
    nodeName: spec.nodeName,
    sysctls: (spec.sysctls ?? []).map((e) => ({ name: e.name, value: e.value })),
  };
}

function pathText(path: readonly (string | number)[]): string {
  if (path.length === 0) return "(document)";
  return path.map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? p : `.${p}`)).join("");
}

function issueText(issue: z.core.$ZodIssue): string {
  if (issue.code === "invalid_type") {
    const input = (issue as { input?: unknown }).input;
    if (input === undefined) return `required field missing (expected ${issue.expected})`;
    if (issue.expected === "string" && (typeof input === "number" || typeof input === "boolean")) {
      return `expected a string, got the ${typeof input} ${String(input)}: quote it ("${String(input)}")`;
    }
  }
  if (issue.code === "too_big" || issue.code === "too_small") {
    const limit = issue.code === "too_big" ? `at most ${String(issue.maximum)}` : `at least ${String(issue.minimum)}`;
    const unit = issue.origin === "string" ? " characters" : issue.origin === "array" ? " entries" : "";
    const input = (issue as { input?: unknown }).input;
    const got = typeof input === "string" ? `, got ${input.length}` : Array.isArray(input) ? `, got ${input.length}` : "";
    return `${issue.message} (limit: ${limit}${unit}${got})`;
  }
  return issue.message;
}

/** The line (1-based) of the deepest node along `path` that the document has. */
function lineOf(root: unknown, path: readonly (string | number)[], lc: LineCounter): number | undefined {
  let node = root as Node | null | undefined;
  let line = rangeLine(node, lc);
  for (const key of path) {
    let next: unknown;
    if (isMap(node)) next = node.get(key, true);
    else if (isSeq(node) && typeof key === "number") next = node.get(key, true);
    else break;
    if (next === undefined || next === null) break;
    node = next as Node;
    line = rangeLine(node, lc) ?? line;
  }
  return line;
}

function rangeLine(node: Node | null | undefined, lc: LineCounter): number | undefined {
  const start = node?.range?.[0];
  return start === undefined ? undefined : lc.linePos(start).line;
}
