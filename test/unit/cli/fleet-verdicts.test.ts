import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { checkJsonSchema, type CheckJson } from "../../../src/cli/output/json.js";
import { FLEET, run, tempTree } from "./run.js";

const expectedSchema = z.record(
  z.string(),
  z.object({ verdict: z.enum(["allowed", "denied"]), nodes: z.record(z.string(), z.enum(["allowed", "denied", "skipped"])) }),
);

async function fleetPolicies(): Promise<{ file: string; text: string }[]> {
  const dir = path.join(FLEET, "policies");
  const names = (await readdir(dir)).filter((n) => n.endsWith(".yaml")).sort();
  return Promise.all(names.map(async (n) => ({ file: path.join(dir, n), text: await readFile(path.join(dir, n), "utf8") })));
}

/** Asserts every policy and every node named in expected.json got exactly that verdict. */
async function expectFleetVerdicts(doc: CheckJson): Promise<void> {
  const expected = expectedSchema.parse(JSON.parse(await readFile(path.join(FLEET, "expected.json"), "utf8")));
  expect(doc.policies.map((p) => p.name).sort()).toEqual(Object.keys(expected).sort());
  for (const p of doc.policies) {
    const want = expected[p.name];
    expect(p.verdict, p.name).toBe(want?.verdict);
    for (const [node, verdict] of Object.entries(want?.nodes ?? {})) {
      expect(p.nodes.find((n) => n.node === node)?.verdict, `${p.name} on ${node}`).toBe(verdict);
    }
  }
}

describe("the fleet fixtures give the verdicts of expected.json", () => {
  it("from the policies directory and the nodes file", async () => {
    const r = await run(["check", "--output", "json", "--nodes", path.join(FLEET, "nodes.yaml"), path.join(FLEET, "policies")]);
    expect(r.code).toBe(1);
    await expectFleetVerdicts(checkJsonSchema.parse(JSON.parse(r.stdout)));
  });

  it("from standard input, as one multi-document stream", async () => {
    const stdin = (await fleetPolicies()).map((p) => p.text).join("\n---\n");
    const r = await run(["check", "-o", "json", "--nodes", path.join(FLEET, "nodes.yaml"), "-"], { stdin });
    expect(r.code).toBe(1);
    const doc = checkJsonSchema.parse(JSON.parse(r.stdout));
    expect(new Set(doc.policies.map((p) => p.source.file))).toEqual(new Set(["<stdin>"]));
    await expectFleetVerdicts(doc);
  });

  it("from JSON: an array of policies, a List of policies, single objects, and the nodes as kubectl -o json prints them", async () => {
    const policies = (await fleetPolicies()).map((p) => parse(p.text) as unknown);
    const nodes = parse(await readFile(path.join(FLEET, "nodes.yaml"), "utf8")) as unknown;
    const dir = await tempTree({
      "array.json": JSON.stringify(policies.slice(0, 4), null, 2),
      "list.json": JSON.stringify({ apiVersion: "v1", kind: "List", items: policies.slice(4, 8) }, null, 2),
      "single/a.json": JSON.stringify(policies[8]),
      "single/b.json": JSON.stringify(policies[9], null, "\t"),
      "nodes.json": JSON.stringify(nodes, null, 4),
    });
    const r = await run([
      "check",
      "-o",
      "json",
      "--nodes",
      path.join(dir, "nodes.json"),
      path.join(dir, "array.json"),
      path.join(dir, "list.json"),
      path.join(dir, "single"),
    ]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(1);
    await expectFleetVerdicts(checkJsonSchema.parse(JSON.parse(r.stdout)));
  });
});
