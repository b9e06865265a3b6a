import path from "node:path";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { checkJsonSchema } from "../../../src/cli/output/json.js";
import { RULES } from "../../../src/rules/index.js";
import { nodeYaml, policyYaml, run, tempTree } from "./run.js";

/** A policy with a policy-level deny (misspelling) on line 8 and a node-level deny (tw_reuse=2 on 4.9) on line 10. */
async function fixture(): Promise<{ dir: string; policy: string; nodes: string }> {
  const dir = await tempTree({
    "policies/p.yaml": policyYaml("mixed", { "net.ipv4.tcp_fin_timout": "30", "net.ipv4.tcp_tw_reuse": "2" }),
    "policies/ok.yaml": policyYaml("fine", { "net.ipv4.tcp_keepalive_time": "300" }),
    "nodes.yaml": [
      nodeYaml("old-1", "4.9.0-19-amd64"),
      nodeYaml("old-2", "4.9.0-19-amd64"),
      nodeYaml("new-1", "6.1.100+"),
      nodeYaml("win-1", "10.0.20348", {}, "windows"),
    ].join("---\n"),
  });
  return { dir, policy: path.join(dir, "policies/p.yaml"), nodes: path.join(dir, "nodes.yaml") };
}

const sarifSchema = z.object({
  $schema: z.string().url(),
  version: z.literal("2.1.0"),
  runs: z
    .array(
      z.object({
        tool: z.object({
          driver: z.object({
            name: z.literal("tcp-tuning"),
            version: z.string(),
            rules: z.array(
              z.object({
                id: z.string(),
                name: z.string(),
                shortDescription: z.object({ text: z.string().min(1) }),
                defaultConfiguration: z.object({ level: z.enum(["error", "warning"]) }),
              }),
            ),
          }),
        }),
        invocations: z.array(z.object({ executionSuccessful: z.boolean() })),
        results: z.array(
          z.object({
            ruleId: z.string(),
            ruleIndex: z.number().int(),
            level: z.enum(["error", "warning"]),
            message: z.object({ text: z.string().min(1) }),
            locations: z.array(
              z.object({
                physicalLocation: z.object({
                  artifactLocation: z.object({ uri: z.string().min(1) }),
                  region: z.object({ startLine: z.number().int().min(1), startColumn: z.number().int().min(1) }),
                }),
              }),
            ),
            properties: z.object({ policy: z.string(), sysctl: z.string().optional(), nodes: z.array(z.string()).optional() }),
          }),
        ),
      }),
    )
    .length(1),
});

describe("check --output", () => {
  it("json is one document the contract's schema accepts, with positions and node verdicts", async () => {
    const f = await fixture();
    const r = await run(["check", "-o", "json", "--nodes", f.nodes, path.join(f.dir, "policies")]);
    expect(r.code).toBe(1);
    const doc = checkJsonSchema.parse(JSON.parse(r.stdout));
    const mixed = doc.policies.find((p) => p.name === "mixed");
    expect(mixed?.verdict).toBe("denied");
    expect(mixed?.source).toEqual({ file: f.policy, line: 1, column: 1 });
    expect(mixed?.findings.find((x) => x.rule === "TT004")?.location).toEqual({ file: f.policy, line: 8, column: 7 });
    expect(Object.fromEntries((mixed?.nodes ?? []).map((n) => [n.node, n.verdict]))).toEqual({
      "old-1": "denied",
      "old-2": "denied",
      "new-1": "allowed",
      "win-1": "skipped",
    });
    expect(mixed?.nodes.find((n) => n.node === "old-1")?.findings.find((x) => x.rule === "TT013")?.location?.line).toBe(10);
    expect(doc.policies.find((p) => p.name === "fine")?.verdict).toBe("allowed");
    expect(doc.summary).toMatchObject({ policies: 2, allowed: 1, denied: 1, nodes: { total: 4, linux: 3, skipped: 1 } });
  });

  it("sarif is SARIF 2.1.0 with the engine's rules and each result at its sysctl's line", async () => {
    const f = await fixture();
    const r = await run(["check", "-o", "sarif", "--nodes", f.nodes, f.policy]);
    expect(r.code).toBe(1);
    const sarif = sarifSchema.parse(JSON.parse(r.stdout));
    const run0 = sarif.runs[0];
    expect(run0?.tool.driver.rules.map((x) => x.id)).toEqual(RULES.map((x) => x.id));
    for (const res of run0?.results ?? []) expect(run0?.tool.driver.rules[res.ruleIndex]?.id).toBe(res.ruleId);
    const unknown = run0?.results.find((x) => x.ruleId === "TT004");
    expect(unknown?.level).toBe("error");
    expect(unknown?.locations[0]?.physicalLocation.region.startLine).toBe(8);
    const tooNew = run0?.results.find((x) => x.ruleId === "TT013");
    expect(tooNew?.properties.nodes).toEqual(["old-1", "old-2"]);
    expect(tooNew?.locations[0]?.physicalLocation.region.startLine).toBe(10);
    expect(run0?.invocations[0]?.executionSuccessful).toBe(true);
  });

  it("github prints ::error and ::warning workflow commands with file, line and column, then a summary", async () => {
    const f = await fixture();
    const r = await run(["check", "-o", "github", "--nodes", f.nodes, f.policy]);
    expect(r.code).toBe(1);
    const lines = r.stdout.trimEnd().split("\n");
    const commands = lines.filter((l) => l.startsWith("::"));
    expect(commands.length).toBeGreaterThan(1);
    for (const l of commands) expect(l).toMatch(/^::(error|warning|notice)( file=[^,:]+,line=\d+,col=\d+,title=[^:]+)?::\S/);
    expect(commands).toContainEqual(
      expect.stringMatching(
        new RegExp(`^::error file=${f.policy},line=8,col=7,title=TT004 mixed net\\.ipv4\\.tcp_fin_timout::.*Did you mean net\\.ipv4\\.tcp_fin_timeout\\?`),
      ),
    );
    expect(commands).toContainEqual(expect.stringMatching(/^::error file=.*,line=10,.*title=TT013 .*\(nodes: old-1, old-2\)$/));
    expect(lines.at(-1)).toMatch(/^tcp-tuning check: 1 policy, 0 allowed, 1 denied/);
  });

  it("text groups findings by rule, names the nodes, and states each verdict", async () => {
    const f = await fixture();
    const r = await run(["check", "--nodes", f.nodes, path.join(f.dir, "policies")]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^DENIED +mixed +\S+p\.yaml:1:1$/m);
    expect(r.stdout).toMatch(/^allowed +fine /m);
    expect(r.stdout).toMatch(/^ {2}nodes: 4 matched, 2 denied, 1 allowed, 1 skipped \(win-1: not a Linux node/m);
    expect(r.stdout).toMatch(/^ {2}deny TT013 \S+\n {4}net\.ipv4\.tcp_tw_reuse=2 \(line 10\) on old-1, old-2$/m);
    expect(r.stdout).toMatch(/2 policies: 1 allowed, 1 denied; 4 nodes \(3 Linux, 1 skipped\)/);
  });

  it("text labels a finding about a node itself (unreadable kernel, undocumented label) as the node's, not the policy's", async () => {
    const dir = await tempTree({
      "p.yaml": policyYaml("p", { "net.ipv4.tcp_tw_reuse": "1" }),
      "nodes.yaml": nodeYaml("odd", "not-a-kernel", { "tcptuning.io/nat": "maybe" }),
    });
    const r = await run(["check", "--nodes", path.join(dir, "nodes.yaml"), path.join(dir, "p.yaml")]);
    expect(r.stdout).toMatch(/^ {2}warn TT014 \S+\n {4}\(node\) on odd$/m);
    expect(r.stdout).toMatch(/^ {2}warn TT041 \S+\n {4}\(node\) on odd$/m);
    expect(r.stdout).not.toContain("(policy) on odd");
    expect(r.stdout).toMatch(/^1 policy: 1 allowed, 0 denied; 1 node \(1 Linux, 0 skipped\)/m);
  });

  it("text bounds long node lists with +N more", async () => {
    const nodes = Array.from({ length: 9 }, (_, i) => nodeYaml(`old-${i}`, "4.9.0-19-amd64")).join("---\n");
    const dir = await tempTree({ "p.yaml": policyYaml("p", { "net.ipv4.tcp_tw_reuse": "2" }), "nodes.yaml": nodes });
    const r = await run(["check", "--nodes", path.join(dir, "nodes.yaml"), path.join(dir, "p.yaml")]);
    expect(r.stdout).toContain("on old-0, old-1, old-2, old-3, old-4 +4 more");
  });

  it("without --nodes, runs policy-level checks and says node checks were not run", async () => {
    const f = await fixture();
    const r = await run(["check", f.policy]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("note: node checks were not run");
    expect(r.stdout).not.toContain("nodes:");
  });

  it("sarif without --nodes says node checks were not run, as a notification of the run", async () => {
    const f = await fixture();
    const r = await run(["check", "-o", "sarif", f.policy]);
    expect(r.code).toBe(1);
    const invocation = z
      .object({
        runs: z.array(
          z.object({
            invocations: z.array(
              z.object({
                executionSuccessful: z.boolean(),
                toolExecutionNotifications: z.array(z.object({ level: z.string(), message: z.object({ text: z.string() }) })),
              }),
            ),
          }),
        ),
      })
      .parse(JSON.parse(r.stdout)).runs[0]?.invocations[0];
    expect(invocation?.executionSuccessful).toBe(true);
    expect(invocation?.toolExecutionNotifications).toContainEqual({ level: "note", message: { text: expect.stringMatching(/^node checks were not run/) } });
  });

  it.each([
    { when: "stdout is a terminal and NO_COLOR is unset", isTTY: true, env: {}, colour: true },
    { when: "stdout is a terminal but NO_COLOR is set", isTTY: true, env: { NO_COLOR: "1" }, colour: false },
    { when: "stdout is a pipe", isTTY: false, env: {}, colour: false },
  ])("text is coloured only when $when: $colour", async ({ isTTY, env, colour }) => {
    const f = await fixture();
    const r = await run(["check", f.policy], { isTTY, env });
    expect(r.stdout.includes("\u001b[")).toBe(colour);
  });
});
