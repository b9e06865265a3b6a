import { isMap, isNode, isScalar, isSeq, LineCounter, parseAllDocuments, type Node as YamlNode } from "yaml";

/** A place in an input file; line and column start at 1. */
export interface Position {
  readonly line: number;
  readonly column: number;
}

export interface SourceLocation {
  /** As the user named it (joined with the path inside a directory), or "<stdin>". */
  readonly file: string;
  readonly line?: number;
  readonly column?: number;
}

/** A problem with the input: it cannot be read, parsed or validated. */
export interface InputError extends SourceLocation {
  readonly message: string;
}

export const STDIN_NAME = "<stdin>";

/** One object found in an input (a document, a JSON array element, a List item), with its YAML node. */
export interface LocatedObject {
  readonly value: unknown;
  readonly file: string;
  readonly start: Position;
  /** Where a field path inside this object is written (the deepest part of the path that exists). */
  readonly locate: (path: readonly PropertyKey[]) => Position;
}

export interface ParsedSource {
  readonly objects: readonly LocatedObject[];
  readonly errors: readonly InputError[];
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * The node a path leads to, stopping at the deepest part that exists: a missing key points at the
 * key of the map that lacks it (`spec:` for a missing spec.sysctls).
 */
export function nodeAt(root: YamlNode, path: readonly PropertyKey[]): YamlNode {
  let cur: YamlNode = root;
  let parentKey: YamlNode | undefined;
  for (const seg of path) {
    if (isMap(cur)) {
      const pair = cur.items.find((p) => (isScalar(p.key) ? p.key.value === seg : p.key === seg));
      if (!pair) return parentKey ?? cur;
      const key = isNode(pair.key) ? pair.key : undefined;
      if (!isNode(pair.value)) return key ?? cur;
      parentKey = key;
      cur = pair.value;
    } else if (isSeq(cur) && typeof seg === "number") {
      const item = cur.items[seg];
      if (!isNode(item)) return cur;
      parentKey = undefined;
      cur = item;
    } else break;
  }
  return cur;
}

/**
 * An item of a typed list (`NodeList`, `TcpTuningPolicyList`) as the API server returns it, without its
 * own kind and apiVersion (`kubectl get --raw /api/v1/nodes`): it gets the list's. A `kind: List`
 * (what `kubectl get -o yaml` prints) has typed items already; items that name a kind keep it.
 */
function typedListItem(item: unknown, listKind: string, listApiVersion: unknown): unknown {
  const kind = listKind.slice(0, -"List".length);
  if (kind === "" || !isRecord(item) || item.kind !== undefined) return item;
  return { apiVersion: item.apiVersion ?? listApiVersion, kind, ...item };
}

/**
 * Parses YAML or JSON text (JSON is YAML) into the objects it holds: every document; the elements of
 * a top-level array; the items of a `kind: List` (or any `*List`). Each keeps its position so errors
 * and findings can name file, line and column.
 */
export function parseSource(file: string, text: string): ParsedSource {
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter, prettyErrors: false });
  const position = (offset: number): Position => {
    const p = lineCounter.linePos(offset);
    return { line: p.line, column: p.col };
  };
  const errors: InputError[] = [];
  const objects: LocatedObject[] = [];
  if (!Array.isArray(docs)) return { objects, errors };
  const located = (node: YamlNode, value: unknown): LocatedObject => ({
    value,
    file,
    start: position(node.range?.[0] ?? 0),
    locate: (path) => position(nodeAt(node, path).range?.[0] ?? node.range?.[0] ?? 0),
  });
  for (const doc of docs) {
    if (doc.errors.length > 0) {
      for (const e of doc.errors) errors.push({ file, ...position(e.pos[0]), message: `cannot parse: ${e.message.split("\n")[0] ?? e.code}` });
      continue;
    }
    const root = doc.contents;
    if (!isNode(root)) continue;
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (err) {
      errors.push({ file, ...position(root.range?.[0] ?? 0), message: `cannot parse: ${err instanceof Error ? err.message : String(err)}` });
      continue;
    }
    if (isSeq(root) && Array.isArray(value)) {
      root.items.forEach((item, i) => {
        if (isNode(item)) objects.push(located(item, value[i]));
      });
    } else if (isMap(root) && isRecord(value) && typeof value.kind === "string" && value.kind.endsWith("List") && Array.isArray(value.items)) {
      const items = nodeAt(root, ["items"]);
      const list = value.items as unknown[];
      const kind = value.kind;
      const apiVersion = value.apiVersion;
      if (isSeq(items)) {
        items.items.forEach((item, i) => {
          if (isNode(item)) objects.push(located(item, typedListItem(list[i], kind, apiVersion)));
        });
      }
    } else {
      objects.push(located(root, value));
    }
  }
  return { objects, errors };
}

export function formatLocation(loc: SourceLocation): string {
  if (loc.line === undefined) return loc.file;
  return loc.column === undefined ? `${loc.file}:${loc.line}` : `${loc.file}:${loc.line}:${loc.column}`;
}
