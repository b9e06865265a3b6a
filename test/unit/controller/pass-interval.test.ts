import { describe, expect, it } from "vitest";
import { passInterval } from "../../../src/controller/controller.js";

describe("the least time between two event-triggered passes", () => {
  it.each([
    { lastPassMs: 0, interval: 250, why: "250 ms before any pass" },
    { lastPassMs: 20, interval: 250, why: "250 ms while passes are cheap (a small cluster)" },
    { lastPassMs: 100, interval: 300, why: "three times a pass that took 100 ms" },
    { lastPassMs: 800, interval: 2400, why: "three times a pass of a large cluster, so passes take at most a quarter of the event loop" },
  ])("is $interval ms: $why", ({ lastPassMs, interval }) => {
    expect(passInterval(lastPassMs)).toBe(interval);
  });
});
