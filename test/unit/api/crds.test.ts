import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { CRDS, NODE_STATE_CRD, POLICY_CRD, toStructural } from "../../../src/api/crd-gen/crd.js";
import { renderCrd } from "../../../src/api/crd-gen/yaml.js";
import { z } from "zod";

const root = join(import.meta.dirname, "..", "..", "..");

type Obj = Record<string, unknown>;
const at = (o: unknown, ...path: string[]): unknown => path.reduce<unknown>((cur, k) => (cur as Obj | undefined)?.[k], o);
const schemaOf = (crd: unknown) => at((at(crd, "spec", "versions") as unknown[])[0], "schema", "openAPIV3Schema");

/** Walks a schema and returns the paths where it breaks the structural-schema rules the apiserver enforces. */
function nonStructural(s: Obj, path = "$"): string[] {
  const out: string[] = [];
  if (!("type" in s) && !s["x-kubernetes-int-or-string"] && !s["x-kubernetes-preserve-unknown-fields"]) out.push(`${path}: no type`);
  if ("properties" in s && "additionalProperties" in s) out.push(`${path}: properties and additionalProperties together`);
  if (s["additionalProperties"] === false) out.push(`${path}: additionalProperties false`);
  if ("anyOf" in s && !s["x-kubernetes-int-or-string"]) out.push(`${path}: anyOf`);
  for (const k of ["oneOf", "allOf", "not", "$ref"]) if (k in s) out.push(`${path}: ${k}`);
  for (const [name, child] of Object.entries((s["properties"] as Record<string, Obj> | undefined) ?? {})) out.push(...nonStructural(child, `${path}.${name}`));
  if (s["items"]) out.push(...nonStructural(s["items"] as Obj, `${path}[]`));
  if (s["additionalProperties"] && typeof s["additionalProperties"] === "object") out.push(...nonStructural(s["additionalProperties"] as Obj, `${path}{}`));
  return out;
}

describe("the CRDs in crds/", () => {
  it.each(CRDS.map((c) => [c.file, c] as const))("%s is exactly what the zod schemas generate (run `npm run gen:crds` when this fails)", (file, c) => {
    expect(readFileSync(join(root, file), "utf8")).toBe(renderCrd(c.crd));
  });

  it.each(CRDS.map((c) => [c.file, c] as const))("%s has a structural schema", (_file, c) => {
    expect(nonStructural(schemaOf(c.crd) as Obj)).toEqual([]);
  });

  it("makes policy sysctls a list map keyed by name, so the apiserver refuses duplicate keys", () => {
    const sysctls = at(schemaOf(POLICY_CRD), "properties", "spec", "properties", "sysctls") as Obj;
    expect(sysctls["x-kubernetes-list-type"]).toBe("map");
    expect(sysctls["x-kubernetes-list-map-keys"]).toEqual(["name"]);
  });

  it("carries CEL rules for the sysctl name grammar and scope on both kinds", () => {
    for (const crd of [POLICY_CRD, NODE_STATE_CRD]) {
      const items = at(schemaOf(crd), "properties", "spec", "properties", "sysctls", "items") as Obj;
      const rules = (items["x-kubernetes-validations"] as { rule: string }[]).map((r) => r.rule);
      expect(rules.some((r) => r.includes("matches("))).toBe(true);
      expect(rules.some((r) => r.includes("startsWith('net.ipv4.')"))).toBe(true);
    }
  });

  it("has the status subresource, short names and printer columns the issue asks for", () => {
    const version = (at(POLICY_CRD, "spec", "versions") as Obj[])[0] as Obj;
    expect(version["subresources"]).toEqual({ status: {} });
    expect(at(POLICY_CRD, "spec", "names", "shortNames")).toEqual(["ttp"]);
    expect(at(POLICY_CRD, "spec", "scope")).toBe("Cluster");
    expect((version["additionalPrinterColumns"] as { name: string }[]).map((c) => c.name)).toEqual([
      "Mode",
      "Matched",
      "Applied",
      "Failed",
      "Rejected",
      "Ready",
      "Age",
    ]);
  });

  it("parses back from YAML to the same object", () => {
    for (const c of CRDS) expect(parse(renderCrd(c.crd))).toEqual(c.crd);
  });
});

describe("toStructural", () => {
  it("marks an integer-or-string union as x-kubernetes-int-or-string", () => {
    expect(toStructural(z.object({ a: z.union([z.number().int(), z.string()]) }))).toMatchObject({ properties: { a: { "x-kubernetes-int-or-string": true } } });
  });

  it("keeps int-or-string branches bare, as the apiserver requires, and moves their bounds into a CEL rule", () => {
    const schema = toStructural(z.object({ a: z.union([z.number().int().min(0), z.string().regex(/^[0-9]+%$/)]) })) as {
      properties: { a: Record<string, unknown> };
    };
    expect(schema.properties.a["anyOf"]).toEqual([{ type: "integer" }, { type: "string" }]);
    expect(schema.properties.a["x-kubernetes-validations"]).toEqual([
      expect.objectContaining({ rule: "type(self) == int ? (self >= 0) : (self.matches('^[0-9]+%$'))" }),
    ]);
  });

  it("refuses unions Kubernetes cannot represent instead of emitting a non-structural schema", () => {
    expect(() => toStructural(z.object({ a: z.union([z.boolean(), z.string()]) }))).toThrow(/not representable/);
  });

  it("turns a loose object into preserve-unknown-fields", () => {
    expect(toStructural(z.looseObject({ a: z.string() }))).toMatchObject({ "x-kubernetes-preserve-unknown-fields": true });
  });
});
