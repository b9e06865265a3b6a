import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CATALOG, RULES } from "../../../src/rules/index.js";
import { renderRulesDoc, RULES_DOC_FILE } from "../../../src/rules/rules-doc.js";

const root = join(import.meta.dirname, "..", "..", "..");

describe("docs/rules.md", () => {
  it("is exactly what RULES and the catalog generate (run `npm run gen:rules-doc` when this fails)", () => {
    expect(readFileSync(join(root, RULES_DOC_FILE), "utf8")).toBe(renderRulesDoc());
  });

  it.each(RULES.map((r) => [r.id, r] as const))("lists %s with its name, severity and summary", (id, r) => {
    const row = renderRulesDoc()
      .split("\n")
      .find((l) => l.startsWith(`| ${id} |`));
    expect(row).toContain(`\`${r.name}\``);
    expect(row).toContain(`| ${r.severity} |`);
    expect(row).toContain(r.summary.replace(/\|/g, "\\|"));
  });

  it.each(CATALOG.map((s) => [s.name, s] as const))("has a section for %s with its references", (name, s) => {
    const doc = renderRulesDoc();
    const start = doc.indexOf(`### \`${name}\``);
    expect(start).toBeGreaterThan(0);
    const section = doc.slice(start, doc.indexOf("\n### ", start + 1) === -1 ? undefined : doc.indexOf("\n### ", start + 1));
    for (const r of s.references) expect(section).toContain(r.title);
  });
});
