import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { z } from "zod";
import { evaluatePolicy, nodeInputFromObject, nodeObjectSchema, prepareNode, type PolicyReport } from "../../../src/rules/index.js";

/** The sample fleet every component is tested on: test/fixtures/fleet (see its README). */
const FLEET = join(import.meta.dirname, "..", "..", "fixtures", "fleet");

const expectedSchema = z.record(
  z.string(),
  z.object({ verdict: z.enum(["allowed", "denied"]), nodes: z.record(z.string(), z.enum(["allowed", "denied", "skipped"])), why: z.string() }),
);
const expected = expectedSchema.parse(JSON.parse(readFileSync(join(FLEET, "expected.json"), "utf8")));

const nodeList = z.object({ items: z.array(nodeObjectSchema) }).parse(parse(readFileSync(join(FLEET, "nodes.yaml"), "utf8")));
const nodes = nodeList.items.map((n) => prepareNode(nodeInputFromObject(n)));

const reports = new Map<string, PolicyReport>();
for (const file of readdirSync(join(FLEET, "policies"))
  .filter((f) => f.endsWith(".yaml"))
  .sort()) {
  const report = evaluatePolicy(parse(readFileSync(join(FLEET, "policies", file), "utf8")), nodes);
  reports.set(report.name, report);
}

/**
 * What expected.json's "why" says, as the rules that must carry each denial (or that must stay silent).
 * The fixtures give verdicts; these pin the reason, so a right verdict for a wrong reason fails.
 */
const WHY: Record<string, { readonly policy?: readonly string[]; readonly nodes?: Readonly<Record<string, readonly string[]>>; readonly message?: RegExp }> = {
  "edge-recycle": { policy: ["TT010"], nodes: { "edge-a": ["TT010"], "edge-b": ["TT010"], "edge-c": ["TT011"] } },
  "reuse-but-no-timestamps": { policy: ["TT007"] },
  "reuse-delay": { nodes: { "app-a": ["TT011"], "app-b": ["TT011"], "app-c": ["TT011"] } },
  "loopback-reuse": { nodes: { "edge-a": ["TT013"], "edge-b": ["TT013"] } },
  misspelled: { policy: ["TT004"], message: /Did you mean net\.ipv4\.tcp_fin_timeout\?/ },
  "vm-knob": { policy: ["TT003"] },
  "bad-port-range": { policy: ["TT006"], message: /low port 40000 is above high port 39999/ },
  "syn-retries-128": { policy: ["TT006"], message: /128 is outside 1\.\.127/ },
};

describe("the sample fleet in test/fixtures/fleet", () => {
  it("has a policy file for every verdict in expected.json, and no other", () => {
    expect([...reports.keys()].sort()).toEqual(Object.keys(expected).sort());
  });

  it.each(Object.entries(expected))("policy %s is %s as expected.json says", (name, want) => {
    const report = reports.get(name);
    expect(report?.verdict, want.why).toBe(want.verdict);
  });

  it.each(Object.entries(expected).flatMap(([policy, want]) => Object.entries(want.nodes).map(([node, verdict]) => [policy, node, verdict] as const)))(
    "policy %s on node %s is %s",
    (policy, node, verdict) => {
      const report = reports.get(policy);
      const nodeReport = report?.nodes.find((n) => n.node === node);
      expect(nodeReport?.verdict, JSON.stringify(nodeReport?.findings)).toBe(verdict);
    },
  );

  it.each(Object.entries(WHY))("policy %s is denied for the reason expected.json gives", (name, why) => {
    const report = reports.get(name);
    if (!report) throw new Error(`no report for ${name}`);
    const denyRules = (findings: PolicyReport["findings"]) => [...new Set(findings.filter((f) => f.severity === "deny").map((f) => f.rule))].sort();
    if (why.policy) expect(denyRules(report.findings)).toEqual([...why.policy].sort());
    for (const [node, rules] of Object.entries(why.nodes ?? {})) {
      const n = report.nodes.find((r) => r.node === node);
      expect(denyRules(n?.findings ?? []), `node ${node}`).toEqual([...rules].sort());
    }
    if (why.message) expect(report.findings.map((f) => f.message).join("\n")).toMatch(why.message);
  });

  it("tells edge-a it is NAT, edge-b about per-connection timestamp offsets, and edge-c that its kernel has no tcp_tw_recycle", () => {
    const nodeMessage = (node: string) =>
      reports
        .get("edge-recycle")
        ?.nodes.find((n) => n.node === node)
        ?.findings.map((f) => f.message)
        .join("\n") ?? "";
    expect(nodeMessage("edge-a")).toMatch(/tcptuning\.io\/nat=inbound/);
    expect(nodeMessage("edge-b")).toMatch(/offset TCP timestamps per connection/);
    expect(nodeMessage("edge-b")).not.toMatch(/NAT placement is unknown/);
    expect(nodeMessage("edge-c")).toMatch(/removed in 4\.12/);
  });

  it("skips the Windows node with a reason instead of judging it", () => {
    const win = reports.get("app-reuse")?.nodes.find((n) => n.node === "win-a");
    expect(win).toMatchObject({ verdict: "skipped", findings: [] });
    expect(win?.reason).toMatch(/not a Linux node/);
  });

  it("leaves nodes the selector does not match out of the report", () => {
    expect(
      reports
        .get("edge-recycle")
        ?.nodes.map((n) => n.node)
        .sort(),
    ).toEqual(["edge-a", "edge-b", "edge-c"]);
  });
});
