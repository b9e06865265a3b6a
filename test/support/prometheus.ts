import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** The promtool that scripts/tools.sh builds and links. */
export const PROMTOOL = fileURLToPath(new URL("../../.bin/promtool", import.meta.url));

export interface MetricFamily {
  readonly name: string;
  readonly type: string;
  readonly help: string;
  /** Each sample: its full name (with _bucket, _sum, _count) and its labels. */
  readonly samples: { readonly name: string; readonly labels: Readonly<Record<string, string>>; readonly value: number }[];
}

/** Parses the Prometheus text exposition format (what /metrics answers) into families by name. */
export function parseExposition(text: string): Map<string, MetricFamily> {
  const families = new Map<string, { name: string; type: string; help: string; samples: MetricFamily["samples"] }>();
  const family = (name: string) => {
    let f = families.get(name);
    if (!f) {
      f = { name, type: "untyped", help: "", samples: [] };
      families.set(name, f);
    }
    return f;
  };
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    const meta = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
    if (meta) {
      const f = family(meta[2] as string);
      if (meta[1] === "TYPE") f.type = meta[3] ?? "";
      else f.help = meta[3] ?? "";
      continue;
    }
    if (line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)/.exec(line);
    if (!m) throw new Error(`not an exposition line: ${line}`);
    const sample = m[1] as string;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
      labels[l[1] as string] = (l[2] as string).replace(/\\(.)/g, (_x, c: string) => (c === "n" ? "\n" : c));
    const base = [...families.keys()].find(
      (n) =>
        sample === n ||
        ((sample.endsWith("_bucket") || sample.endsWith("_sum") || sample.endsWith("_count")) && sample.replace(/_(bucket|sum|count)$/, "") === n),
    );
    family(base ?? sample).samples.push({ name: sample, labels, value: Number(m[3]) });
  }
  return families;
}

/** Only the families whose names start with the prefix, as exposition text again (HELP, TYPE and samples). */
export function filterExposition(text: string, prefix: string): string {
  return `${text
    .split("\n")
    .filter((line) => {
      const name = line.startsWith("# ") ? line.split(" ")[2] : line.split(/[{ ]/)[0];
      return name?.startsWith(prefix) === true;
    })
    .join("\n")}\n`;
}

/** `promtool check metrics` on the text: its exit code and what it said. */
export function promtoolCheck(text: string): Promise<{ code: number; output: string }> {
  if (!existsSync(PROMTOOL)) throw new Error(`${PROMTOOL} is missing: run scripts/tools.sh (it builds promtool from Go modules)`);
  return new Promise((resolve) => {
    const child = execFile(PROMTOOL, ["check", "metrics"], { timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === "number" ? (err as { code: number }).code : 1) : 0;
      resolve({ code, output: `${stdout}${stderr}` });
    });
    child.stdin?.end(text);
  });
}

/** GET a plain-HTTP URL: status and body. */
export async function httpGet(url: string): Promise<{ status: number; body: string; contentType: string }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  return { status: res.status, body: await res.text(), contentType: res.headers.get("content-type") ?? "" };
}
