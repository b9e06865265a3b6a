import { describe, expect, it } from "vitest";
import { ChangingNodes, type NodeStateEventLike } from "../../support/changing-nodes.js";

const ev = (name: string, generation: number, observed: number | undefined, type: NodeStateEventLike["type"] = "MODIFIED"): NodeStateEventLike => ({
  type,
  object: { metadata: { name, generation }, ...(observed !== undefined ? { status: { observedGeneration: observed } } : {}) },
});

describe("ChangingNodes", () => {
  it("counts a node from its new spec until its agent reports that generation", () => {
    const c = new ChangingNodes();
    [
      ev("a", 1, 1, "ADDED"),
      ev("b", 1, 1, "ADDED"),
      ev("a", 2, 1),
      ev("b", 2, 1),
      ev("a", 2, 2),
      ev("b", 2, 2),
      ev("c", 3, 2),
      ev("c", 3, undefined, "DELETED"),
    ].forEach((e) => c.add(e));
    expect(c.series).toEqual([0, 0, 1, 2, 1, 0, 1, 0]);
    expect(c.max).toBe(2);
    expect(c.started).toEqual(["a", "b", "c"]);
    expect(c.firstDone.get("a")).toBe(4);
    expect(c.maxBefore(4)).toBe(2);
    expect(c.maxFrom(5)).toBe(1);
  });

  it("ignores nodes it is told to leave out", () => {
    const c = new ChangingNodes((n) => n.startsWith("mine-"));
    c.add(ev("other", 2, 1));
    c.add(ev("mine-1", 2, 1));
    expect(c.series).toEqual([1]);
  });
});
