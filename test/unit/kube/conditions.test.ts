import { describe, expect, it } from "vitest";
import { setCondition } from "../../../src/kube/conditions.js";

const t0 = new Date("2026-01-01T00:00:00.000Z");
const t1 = new Date("2026-01-01T00:05:00.000Z");

describe("setCondition", () => {
  it("adds a condition with the current time as its transition time", () => {
    expect(setCondition([], { type: "Ready", status: "True", reason: "R", message: "m", observedGeneration: 1 }, t0)).toEqual([
      { type: "Ready", status: "True", reason: "R", message: "m", observedGeneration: 1, lastTransitionTime: "2026-01-01T00:00:00Z" },
    ]);
  });

  it("keeps the transition time when only the reason, message or generation change", () => {
    const a = setCondition([], { type: "Ready", status: "True", reason: "R", message: "m", observedGeneration: 1 }, t0);
    const b = setCondition(a, { type: "Ready", status: "True", reason: "R2", message: "m2", observedGeneration: 2 }, t1);
    expect(b[0]).toMatchObject({ reason: "R2", message: "m2", observedGeneration: 2, lastTransitionTime: "2026-01-01T00:00:00Z" });
  });

  it("moves the transition time when the status flips, and leaves other conditions alone", () => {
    const a = setCondition(
      setCondition([], { type: "Ready", status: "True", reason: "R", message: "" }, t0),
      { type: "Degraded", status: "False", reason: "R", message: "" },
      t0,
    );
    const b = setCondition(a, { type: "Ready", status: "False", reason: "Failed", message: "x" }, t1);
    expect(b.find((c) => c.type === "Ready")?.lastTransitionTime).toBe("2026-01-01T00:05:00Z");
    expect(b.find((c) => c.type === "Degraded")).toEqual(a[1]);
  });
});
