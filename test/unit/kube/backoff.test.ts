import { describe, expect, it } from "vitest";
import { Backoff } from "../../../src/kube/backoff.js";

describe("Backoff", () => {
  it("doubles the delay up to the maximum and starts over after reset", () => {
    const b = new Backoff({ initialMs: 500, maxMs: 3000 });
    expect([b.next(), b.next(), b.next(), b.next(), b.next()]).toEqual([500, 1000, 2000, 3000, 3000]);
    b.reset();
    expect(b.next()).toBe(500);
  });

  it.each([
    [0, 800],
    [0.5, 1000],
    [0.999, 1199.6],
  ])("spreads each delay by the jitter fraction (random %s gives %s ms of 1000)", (random, want) => {
    const b = new Backoff({ initialMs: 1000, maxMs: 30_000, jitter: 0.2, random: () => random });
    expect(b.next()).toBeCloseTo(want, 6);
  });
});
