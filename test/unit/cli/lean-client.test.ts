import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { stripDocComments } from "../../../src/cmd/lean-client.js";
import { REPO } from "./run.js";

describe("stripDocComments", () => {
  it.each([
    ["a JSDoc block on lines of its own", "a();\n    /**\n     * Doc.\n     * @param x\n     */\n    b();", "a();\n\n\n\n\n    b();"],
    ["a one-line JSDoc", "/** one line */\nc();", "\nc();"],
    ["a block comment that is not JSDoc", "/* plain\n * kept\n */\nd();", "/* plain\n * kept\n */\nd();"],
    ["code after the closing mark", "/**\n * doc\n */ e();", "/**\n * doc\n */ e();"],
    ["code before the opening mark", "f(); /**\n * doc\n */", "f(); /**\n * doc\n */"],
    ["a line inside that does not start with *", "/**\n * doc\n g();\n */", "/**\n * doc\n g();\n */"],
    ["a one-line JSDoc with code after it", "/** doc */ h();", "/** doc */ h();"],
    ["/** inside a string", 'x = "/** not a comment */";', 'x = "/** not a comment */";'],
    ["an unterminated block", "/**\n * doc", "/**\n * doc"],
    ["two blocks and CRLF line ends", "/**\r\n * a\r\n */\r\nx();\r\n  /** b */\r\ny();", "\n\n\nx();\r\n\ny();"],
  ])("handles %s, keeping every line", (_what, source, expected) => {
    const out = stripDocComments(source);
    expect(out).toBe(expected);
    expect(out.split("\n")).toHaveLength(source.split("\n").length);
  });
});

/** Runs `code` (an ES module; node strips the types of the .ts it imports, no tsx and its source maps) in a fresh node and returns its stdout's last line as JSON. */
function inFreshNode<T>(code: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--input-type=module", "-e", code], { cwd: REPO });
    let out = "";
    let err = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));
    child.stderr.on("data", (c: Buffer) => (err += c.toString()));
    child.on("error", reject);
    child.on("close", (status) => {
      const last = out.trim().split("\n").at(-1);
      if (status !== 0 || last === undefined) reject(new Error(`exit ${status}: ${err}`));
      else resolve(JSON.parse(last) as T);
    });
  });
}

const PROBE = (strip: boolean) => `
${strip ? 'const { loadClientNodeWithoutDocComments } = await import("./src/cmd/lean-client.ts"); const stats = loadClientNodeWithoutDocComments();' : "const stats = undefined;"}
const k8s = await import("@kubernetes/client-node");
const kc = new k8s.KubeConfig();
kc.loadFromOptions({ clusters: [{ name: "c", server: "https://127.0.0.1:1" }], users: [{ name: "u", token: "t" }], contexts: [{ name: "c", cluster: "c", user: "u" }], currentContext: "c" });
const core = kc.makeApiClient(k8s.CoreV1Api);
// An error thrown inside the client (a required parameter missing): its stack names the same files and lines either way.
const err = await core.readNode({ name: null }).catch((e) => e);
const frame = String(err.stack).split("\\n").filter((l) => l.includes("@kubernetes/client-node/")).join("|");
console.log(JSON.stringify({ exports: Object.keys(k8s).sort(), frame: frame.trim(), stats }));
`;

// Each case starts node with tsx and loads the whole client: seconds on a loaded machine.
const SPAWN_BUDGET_MS = 90_000;

describe("loading @kubernetes/client-node without its doc comments", () => {
  it(
    "exports the same names, works, keeps the client's line numbers in stack traces, and hands V8 less than half the source",
    async () => {
      type Probe = { exports: string[]; frame: string; stats?: { modules: number; bytesBefore: number; bytesAfter: number } };
      const [whole, lean] = await Promise.all([inFreshNode<Probe>(PROBE(false)), inFreshNode<Probe>(PROBE(true))]);
      expect(lean.exports).toEqual(whole.exports);
      expect(whole.exports.length).toBeGreaterThan(100);
      expect(lean.frame).toMatch(/client-node\/.*:\d+:\d+/);
      expect(lean.frame).toBe(whole.frame);
      expect(lean.stats?.modules).toBeGreaterThan(100);
      expect(lean.stats?.bytesAfter).toBeLessThan((lean.stats?.bytesBefore ?? 0) / 2);
    },
    SPAWN_BUDGET_MS,
  );
});
