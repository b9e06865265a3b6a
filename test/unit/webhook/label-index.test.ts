import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { LabelSelector } from "../../../src/api/v1alpha1/meta.js";
import { compileSelector } from "../../../src/rules/index.js";
import { LabelIndex } from "../../../src/webhook/label-index.js";

const keyArb = fc.constantFrom("tier", "zone", "tcptuning.io/nat", "constructor", "__proto__", "toString", "gone");
const valueArb = fc.constantFrom("edge", "app", "a", "b", "", "constructor");
const labelsArb = fc.dictionary(keyArb, valueArb, { maxKeys: 4 });
const selectorArb: fc.Arbitrary<LabelSelector | undefined> = fc.option(
  fc.record(
    {
      matchLabels: fc.dictionary(keyArb, valueArb, { maxKeys: 2 }),
      matchExpressions: fc.array(
        fc.record(
          {
            key: keyArb,
            operator: fc.constantFrom("In" as const, "NotIn" as const, "Exists" as const, "DoesNotExist" as const),
            values: fc.array(valueArb, { maxLength: 3 }),
          },
          { requiredKeys: ["key", "operator"] },
        ),
        { maxLength: 3 },
      ),
    },
    { requiredKeys: [] },
  ),
  { nil: undefined },
);

function selected(index: LabelIndex, selector: LabelSelector | undefined): number[] {
  const ids: number[] = [];
  index.select(selector, (id) => ids.push(id));
  return ids.sort((a, b) => a - b);
}

describe("the inverted label index", () => {
  it("selects exactly the ids whose labels the compiled selector matches, after adds and removes", () => {
    fc.assert(
      fc.property(fc.array(labelsArb, { maxLength: 30 }), fc.array(fc.nat(), { maxLength: 10 }), selectorArb, (fleet, removals, selector) => {
        const index = new LabelIndex();
        const live = new Map(fleet.map((labels, id) => [id, labels]));
        fleet.forEach((labels, id) => index.add(id, labels));
        for (const r of removals) {
          if (fleet.length === 0) break;
          const id = r % fleet.length;
          const labels = live.get(id);
          if (!labels) continue;
          index.remove(id, labels);
          live.delete(id);
        }
        const matches = compileSelector(selector);
        const expected = [...live].filter(([, labels]) => matches(labels)).map(([id]) => id);
        expect(selected(index, selector)).toEqual(expected);
      }),
      { numRuns: 1000 },
    );
  });

  it("visits only the ids of the smallest positive term, not the whole fleet", () => {
    const index = new LabelIndex();
    for (let id = 0; id < 5000; id++) index.add(id, { tier: id < 10 ? "edge" : "app", zone: id % 2 ? "a" : "b" });
    let visited = 0;
    const hits: number[] = [];
    index.select({ matchLabels: { tier: "edge" }, matchExpressions: [{ key: "zone", operator: "NotIn", values: ["a"] }] }, (id) => {
      visited++;
      hits.push(id);
    });
    expect(hits).toEqual([0, 2, 4, 6, 8]);
    expect(visited).toBe(5);
  });

  it("forgets keys and values that no id has any more", () => {
    const index = new LabelIndex();
    index.add(1, { tier: "edge" });
    index.remove(1, { tier: "edge" });
    expect(selected(index, { matchExpressions: [{ key: "tier", operator: "DoesNotExist" }] })).toEqual([]);
    expect(index.size).toBe(0);
  });
});
