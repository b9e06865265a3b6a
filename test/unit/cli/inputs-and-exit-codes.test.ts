import path from "node:path";
import { describe, expect, it } from "vitest";
import { checkJsonSchema } from "../../../src/cli/output/json.js";
import { nodeYaml, policyYaml, run, tempTree } from "./run.js";

const GOOD = policyYaml("good", { "net.ipv4.tcp_keepalive_time": "300" });
const BAD = policyYaml("bad", { "net.ipv4.tcp_tw_recycle": "1" });

interface ExitCase {
  readonly name: string;
  readonly files: Record<string, string>;
  readonly args: string[];
  readonly code: number;
}

describe("check exit codes", () => {
  it.each<ExitCase>([
    { name: "only allowed policies", files: { "a.yaml": GOOD }, args: ["a.yaml"], code: 0 },
    { name: "a denied policy among allowed ones", files: { "a.yaml": GOOD, "b.yaml": BAD }, args: ["a.yaml", "b.yaml"], code: 1 },
    { name: "no TcpTuningPolicy at all", files: { "cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n" }, args: ["cm.yaml"], code: 0 },
    { name: "a file that does not exist", files: {}, args: ["missing.yaml"], code: 2 },
    { name: "a --nodes file that does not exist", files: { "a.yaml": GOOD }, args: ["--nodes", "nodes.yaml", "a.yaml"], code: 2 },
    { name: "an unknown flag", files: { "a.yaml": GOOD }, args: ["--frobnicate", "a.yaml"], code: 2 },
    { name: "an unknown output format", files: { "a.yaml": GOOD }, args: ["--output", "xml", "a.yaml"], code: 2 },
    { name: "no input at all", files: {}, args: [], code: 2 },
    { name: "an invalid --default-placement", files: { "a.yaml": GOOD }, args: ["--default-placement", "nat=sometimes", "a.yaml"], code: 2 },
    { name: "a YAML syntax error next to a denied policy", files: { "a.yaml": "kind: [unclosed\n", "b.yaml": BAD }, args: ["a.yaml", "b.yaml"], code: 2 },
  ])("is $code for $name", async ({ files, args, code }) => {
    const dir = await tempTree(files);
    const r = await run(["check", ...args], { cwd: dir });
    expect(r.code).toBe(code);
    if (code === 2) expect(r.stderr).not.toBe("");
  });

  it("is 2 for an unknown command, and 0 for help and version", async () => {
    expect((await run(["frobnicate"])).code).toBe(2);
    const help = await run(["help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("tcp-tuning <command>");
    const version = await run(["version"]);
    expect(version).toMatchObject({ code: 0, stdout: expect.stringMatching(/^tcp-tuning \d+\.\d+\.\d+/) });
  });
});

describe("check input errors name file, line and column", () => {
  it("for YAML that does not parse", async () => {
    const dir = await tempTree({ "broken.yaml": `${GOOD}---\napiVersion: tcptuning.io/v1alpha1\nkind: TcpTuningPolicy\nmetadata:\n  name: x: y\n` });
    const r = await run(["check", "broken.yaml"], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^broken\.yaml:14:9: cannot parse: /m);
    // The valid document before the broken one is still judged.
    expect(r.stdout).toMatch(/^allowed +good /m);
  });

  it("for JSON that does not parse", async () => {
    const dir = await tempTree({ "p.json": '{\n  "kind": "TcpTuningPolicy",\n  "spec": {\n}' });
    const r = await run(["check", "p.json"], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^p\.json:\d+:\d+: cannot parse: /m);
  });

  it.each([
    {
      field: "a value written as a number",
      yaml: GOOD.replace('value: "300"', "value: 300"),
      at: "p.yaml:9:14",
      says: /spec\.sysctls\[0\]\.value: .*expected string.*quote them/,
    },
    { field: "a missing sysctls list", yaml: GOOD.split("  sysctls:")[0] ?? "", at: "p.yaml:5:1", says: /spec\.sysctls: / },
    { field: "a wrong mode", yaml: `${GOOD}  mode: Sometimes\n`, at: "p.yaml:10:9", says: /spec\.mode: / },
    { field: "a missing name", yaml: GOOD.replace("  name: good\n", "  labels: {}\n"), at: "p.yaml:3:1", says: /metadata\.name: / },
  ])("for a policy with $field", async ({ yaml, at, says }) => {
    const dir = await tempTree({ "p.yaml": yaml });
    const r = await run(["check", "p.yaml"], { cwd: dir });
    expect(r.code).toBe(2);
    const line = r.stderr.split("\n").find((l) => l.startsWith(`${at}: `));
    expect(line, r.stderr).toMatch(says);
  });

  it("in the json output too, next to the policies that could be judged", async () => {
    const dir = await tempTree({ "p.yaml": `${BAD}---\n${GOOD.replace('value: "300"', "value: 300")}` });
    const r = await run(["check", "-o", "json", "p.yaml"], { cwd: dir });
    expect(r.code).toBe(2);
    const doc = checkJsonSchema.parse(JSON.parse(r.stdout));
    expect(doc.policies.map((p) => [p.name, p.verdict])).toEqual([["bad", "denied"]]);
    expect(doc.errors).toEqual([expect.objectContaining({ file: "p.yaml", line: 19, column: 14 })]);
  });
});

describe("check inputs", () => {
  it("ignores documents that are not TcpTuningPolicy, in multi-document files and Lists", async () => {
    const dir = await tempTree({
      "all.yaml": `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: x\n---\n${BAD}---\n# only a comment\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: y\n`,
      "list.yaml": `apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Service\n  metadata:\n    name: s\n`,
    });
    const r = await run(["check", "-o", "json", "all.yaml", "list.yaml"], { cwd: dir });
    expect(r.code).toBe(1);
    expect(checkJsonSchema.parse(JSON.parse(r.stdout)).policies.map((p) => p.name)).toEqual(["bad"]);
  });

  it("reads directories recursively: *.yaml, *.yml and *.json, nothing else", async () => {
    const dir = await tempTree({
      "deploy/a.yaml": GOOD.replace("good", "a"),
      "deploy/nested/deeper/b.yml": GOOD.replace("good", "b"),
      "deploy/nested/c.json": JSON.stringify({
        apiVersion: "tcptuning.io/v1alpha1",
        kind: "TcpTuningPolicy",
        metadata: { name: "c" },
        spec: { sysctls: [{ name: "net.core.somaxconn", value: "4096" }] },
      }),
      "deploy/nested/README.md": BAD,
      "deploy/notes.txt": BAD,
    });
    const r = await run(["check", "-o", "json", "deploy"], { cwd: dir });
    expect(r.code).toBe(0);
    const doc = checkJsonSchema.parse(JSON.parse(r.stdout));
    expect(doc.policies.map((p) => [p.name, p.source.file])).toEqual([
      ["a", path.join("deploy", "a.yaml")],
      ["c", path.join("deploy", "nested", "c.json")],
      ["b", path.join("deploy", "nested", "deeper", "b.yml")],
    ]);
  });

  it("reads --nodes as single Node documents as well as a List, and skips Windows nodes", async () => {
    const dir = await tempTree({
      "nodes.yaml": [nodeYaml("n1", "4.9.0-19-amd64"), nodeYaml("n2", "6.1.100+"), nodeYaml("w1", "10.0.20348", {}, "windows")].join("---\n"),
      "p.yaml": policyYaml("p", { "net.ipv4.tcp_tw_reuse": "2" }),
    });
    const r = await run(["check", "-o", "json", "--nodes", "nodes.yaml", "p.yaml"], { cwd: dir });
    const doc = checkJsonSchema.parse(JSON.parse(r.stdout));
    expect(doc.policies[0]?.nodes.map((n) => [n.node, n.verdict])).toEqual([
      ["n1", "denied"],
      ["n2", "allowed"],
      ["w1", "skipped"],
    ]);
    expect(r.code).toBe(1);
  });

  it.each([
    [
      "ignores a TcpTuningPolicy of another API group, as any other document",
      "other.example.com/v1",
      0,
      /no TcpTuningPolicy found in 1 file \(1 other documents ignored\)/,
    ],
    ["reports a tcptuning.io TcpTuningPolicy of an unknown version as an input error", "tcptuning.io/v9", 2, /^$/],
  ] as const)("%s", async (_what, apiVersion, code, note) => {
    const dir = await tempTree({ "p.yaml": `apiVersion: ${apiVersion}\nkind: TcpTuningPolicy\nmetadata:\n  name: theirs\nspec:\n  anything: 1\n` });
    const r = await run(["check", "-o", "json", "p.yaml"], { cwd: dir });
    const doc = checkJsonSchema.parse(JSON.parse(r.stdout));
    expect(r.code).toBe(code);
    expect(doc.notes.filter((n) => !n.startsWith("node checks")).join(" ")).toMatch(note);
  });

  it("takes what the node agent probed from TcpTuningNodeState objects next to the Nodes, as the webhook does", async () => {
    const state = (node: string, probe: unknown) =>
      `apiVersion: tcptuning.io/v1alpha1\nkind: TcpTuningNodeState\nmetadata:\n  name: ${node}\nspec:\n  nodeName: ${node}\nstatus:\n  probe: ${JSON.stringify(probe)}\n`;
    const backported = { kernelRelease: "4.9.0-19-amd64", probedAt: "2026-01-01T00:00:00Z", keys: [{ name: "net.ipv4.tcp_tw_recycle", present: false }] };
    const dir = await tempTree({
      "facts.yaml": [
        nodeYaml("patched", "4.9.0-19-amd64", { "tcptuning.io/nat": "none", "tcptuning.io/load-balancer": "none" }),
        state("patched", backported),
      ].join("---\n"),
      "bad-state.yaml": [nodeYaml("n", "6.1.100+"), state("n", { kernelRelease: 6, keys: [] })].join("---\n"),
      "p.yaml": policyYaml("p", { "net.ipv4.tcp_tw_recycle": "1" }),
    });
    const r = await run(["check", "-o", "json", "--nodes", "facts.yaml", "p.yaml"], { cwd: dir });
    const doc = checkJsonSchema.parse(JSON.parse(r.stdout));
    const rules = doc.policies[0]?.nodes.find((n) => n.node === "patched")?.findings.map((f) => f.rule);
    expect(rules).toEqual(["TT011"]);
    expect(doc.policies[0]?.nodes[0]?.findings[0]?.message).toMatch(/node agent found no \/proc\/sys entry/);

    const bad = await run(["check", "--nodes", "bad-state.yaml", "p.yaml"], { cwd: dir });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^bad-state\.yaml:\d+:\d+: TcpTuningNodeState n is not valid: status\.probe\.kernelRelease: /m);
  });

  it("reads --nodes as a NodeList straight from the API server, whose items carry no kind", async () => {
    const item = (name: string, kernelVersion: string) => ({
      metadata: { name, labels: {} },
      status: { nodeInfo: { kernelVersion, operatingSystem: "linux" } },
    });
    const dir = await tempTree({
      "nodes.json": JSON.stringify({ kind: "NodeList", apiVersion: "v1", items: [item("raw-old", "4.9.0-19-amd64"), item("raw-new", "6.1.100+")] }),
      "p.yaml": policyYaml("p", { "net.ipv4.tcp_tw_reuse": "2" }),
    });
    const r = await run(["check", "-o", "json", "--nodes", "nodes.json", "p.yaml"], { cwd: dir });
    const doc = checkJsonSchema.parse(JSON.parse(r.stdout));
    expect(doc.policies[0]?.nodes.map((n) => [n.node, n.verdict])).toEqual([
      ["raw-old", "denied"],
      ["raw-new", "allowed"],
    ]);
    expect(doc.notes.join(" ")).not.toMatch(/no Node objects/);
    expect(r.code).toBe(1);
  });

  it("reads policies from a TcpTuningPolicyList whose items carry no kind, and still ignores other kinds of list", async () => {
    const policy = { metadata: { name: "from-list" }, spec: { sysctls: [{ name: "net.ipv4.tcp_tw_recycle", value: "1" }] } };
    const dir = await tempTree({
      "list.json": JSON.stringify({ kind: "TcpTuningPolicyList", apiVersion: "tcptuning.io/v1alpha1", items: [policy] }),
      "cms.json": JSON.stringify({ kind: "ConfigMapList", apiVersion: "v1", items: [{ metadata: { name: "cm" }, data: {} }] }),
    });
    const r = await run(["check", "-o", "json", "list.json", "cms.json"], { cwd: dir });
    const doc = checkJsonSchema.parse(JSON.parse(r.stdout));
    expect(doc.policies.map((p) => [p.name, p.verdict])).toEqual([["from-list", "denied"]]);
    expect(r.code).toBe(1);
  });

  it("reports a Node without a name at its line", async () => {
    const dir = await tempTree({ "nodes.yaml": "apiVersion: v1\nkind: Node\nmetadata:\n  labels: {}\n", "p.yaml": GOOD });
    const r = await run(["check", "--nodes", "nodes.yaml", "p.yaml"], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^nodes\.yaml:3:1: Node \(unnamed\) is not valid: metadata\.name: /m);
  });

  it("applies --default-placement to nodes without placement labels only", async () => {
    const dir = await tempTree({
      "nodes.yaml": [nodeYaml("unlabelled", "4.9.0-19-amd64"), nodeYaml("natted", "4.9.0-19-amd64", { "tcptuning.io/nat": "inbound" })].join("---\n"),
      "p.yaml": BAD,
    });
    const messages = async (extra: string[]) => {
      const r = await run(["check", "-o", "json", "--nodes", "nodes.yaml", ...extra, "p.yaml"], { cwd: dir });
      const doc = checkJsonSchema.parse(JSON.parse(r.stdout));
      return Object.fromEntries((doc.policies[0]?.nodes ?? []).map((n) => [n.node, n.findings.map((f) => f.message).join(" ")]));
    };
    const without = await messages([]);
    const withDefault = await messages(["--default-placement", "nat=none,load-balancer=none"]);
    expect(without.unlabelled).toContain("NAT placement is unknown");
    expect(withDefault.unlabelled).not.toContain("NAT placement is unknown");
    expect(withDefault.natted).toContain("tcptuning.io/nat=inbound");
  });

  it("reads standard input once when both the policies and --nodes are -", async () => {
    const stdin = `${nodeYaml("n1", "4.9.0-19-amd64")}---\n${policyYaml("p", { "net.ipv4.tcp_tw_reuse": "2" })}`;
    const r = await run(["check", "-o", "json", "--nodes", "-", "-"], { stdin });
    const doc = checkJsonSchema.parse(JSON.parse(r.stdout));
    expect(doc.policies[0]?.nodes.map((n) => [n.node, n.verdict])).toEqual([["n1", "denied"]]);
  });
});
