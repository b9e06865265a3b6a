import { readFileSync, readdirSync } from "node:fs";
import { basename, join } from "node:path";
import { describe, expect, it } from "vitest";
import { CRDS } from "../../../src/api/crd-gen/crd.js";

const root = join(import.meta.dirname, "..", "..", "..");
const chartCrds = join(root, "charts", "tcp-tuning-operator", "files", "crds");

// A Helm chart cannot read files outside its folder, so it carries a copy of crds/ that
// `npm run gen:crds` writes together with crds/.
describe("the Helm chart's copy of the CRDs", () => {
  it.each(CRDS.map((c) => [basename(c.file), c.file] as const))("%s equals crds/ (run `npm run gen:crds` when this fails)", (name, file) => {
    expect(readFileSync(join(chartCrds, name), "utf8")).toBe(readFileSync(join(root, file), "utf8"));
  });

  it("holds no CRD that crds/ does not have", () => {
    expect(readdirSync(chartCrds).sort()).toEqual(CRDS.map((c) => basename(c.file)).sort());
  });
});
