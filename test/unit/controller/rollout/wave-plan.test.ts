import { describe, expect, it } from "vitest";
import { WAVE_NODES_MAX } from "../../../../src/api/v1alpha1/rollout-status.js";
import { planWaves, resolveMaxUnavailable, waveSize, zoneShare, type PlanNode } from "../../../../src/controller/rollout/wave-plan.js";

/** 50 nodes in 3 zones: 17 in a, 17 in b, 16 in c. */
export function fleet(count = 50, zones = ["zone-a", "zone-b", "zone-c"]): PlanNode[] {
  return Array.from({ length: count }, (_, i) => ({ name: `node-${String(i).padStart(3, "0")}`, zone: zones[i % zones.length] }));
}

const SPEC = { maxUnavailable: "10%", canary: { nodes: 1, soakSeconds: 2 }, pauseOnFailure: true } as const;

describe("maxUnavailable and wave sizes", () => {
  it.each([
    [undefined, 50, 1],
    [5, 50, 5],
    ["10%", 50, 5],
    ["10%", 9, 1],
    ["33%", 10, 3],
    ["100%", 5000, WAVE_NODES_MAX],
    [0, 10, 1],
  ] as const)("maxUnavailable %s of %i nodes is %i at once", (value, total, expected) => {
    expect(resolveMaxUnavailable(value, total)).toBe(expected);
  });

  it("makes the first wave the canary and every later one maxUnavailable", () => {
    expect(waveSize(SPEC, 1, 50)).toBe(1);
    expect(waveSize(SPEC, 2, 50)).toBe(5);
    expect(waveSize({ maxUnavailable: 4 }, 1, 50)).toBe(4);
    expect(waveSize(undefined, 1, 50)).toBe(WAVE_NODES_MAX);
  });

  it("gives each zone a share of a wave in proportion to its size, at least one", () => {
    expect(zoneShare(5, 17, 50)).toBe(2);
    expect(zoneShare(1, 17, 50)).toBe(1);
    expect(zoneShare(10, 50, 50)).toBe(10);
  });
});

describe("planWaves", () => {
  const all = fleet();
  const waves = planWaves({ policy: "p", spec: SPEC, all, waiting: all, nextWave: 1 });

  it("covers every node exactly once: a canary of 1, then waves of at most 5", () => {
    expect(waves[0]).toHaveLength(1);
    for (const w of waves.slice(1)) expect(w.length).toBeLessThanOrEqual(5);
    const names = waves.flat().map((n) => n.name);
    expect(new Set(names).size).toBe(50);
    expect(names).toHaveLength(50);
    // 49 after the canary in waves of 5 (2+2+1 across the zones): ten full waves, the last one short.
    expect(waves.map((w) => w.length)).toEqual([1, 5, 5, 5, 5, 5, 5, 5, 5, 5, 4]);
  });

  it("never takes more than a zone's share in one wave", () => {
    waves.forEach((w, i) => {
      const size = waveSize(SPEC, i + 1, 50);
      const perZone = new Map<string, number>();
      for (const n of w) perZone.set(n.zone ?? "", (perZone.get(n.zone ?? "") ?? 0) + 1);
      for (const [zone, count] of perZone) {
        const zoneTotal = all.filter((n) => n.zone === zone).length;
        expect(count, `wave ${i + 1} zone ${zone}`).toBeLessThanOrEqual(zoneShare(size, zoneTotal, 50));
      }
      if (w.length === 5) expect(perZone.size).toBe(3);
    });
  });

  it("is deterministic whatever order the nodes come in, and differs between policies", () => {
    const shuffled = [...all].reverse();
    const again = planWaves({ policy: "p", spec: SPEC, all: shuffled, waiting: shuffled, nextWave: 1 });
    expect(again.map((w) => w.map((n) => n.name))).toEqual(waves.map((w) => w.map((n) => n.name)));
    const other = planWaves({ policy: "q", spec: SPEC, all, waiting: all, nextWave: 1 });
    expect(other.map((w) => w.map((n) => n.name))).not.toEqual(waves.map((w) => w.map((n) => n.name)));
  });

  it("plans the remaining waves from the nodes still waiting, numbering from the next wave", () => {
    const waiting = all.slice(0, 12);
    const rest = planWaves({ policy: "p", spec: SPEC, all, waiting, nextWave: 4 });
    expect(
      rest
        .flat()
        .map((n) => n.name)
        .sort(),
    ).toEqual(waiting.map((n) => n.name).sort());
    for (const w of rest) expect(w.length).toBeLessThanOrEqual(5);
  });

  it("shrinks the last waves to a zone's share rather than fill them from one zone", () => {
    const waiting = all.filter((n) => n.zone === "zone-a").slice(0, 6);
    const rest = planWaves({ policy: "p", spec: SPEC, all, waiting, nextWave: 5 });
    expect(rest.map((w) => w.length)).toEqual([2, 2, 2]);
  });

  it("treats nodes without a zone label as a zone of their own", () => {
    const mixed: PlanNode[] = [...fleet(8, ["a"]), ...fleet(2, [""]).map((n) => ({ name: `${n.name}-nozone` }))];
    const w = planWaves({ policy: "p", spec: { maxUnavailable: 5 }, all: mixed, waiting: mixed, nextWave: 1 });
    expect(w[0]?.filter((n) => n.zone === undefined)).toHaveLength(1);
    expect(w.flat()).toHaveLength(10);
  });

  it("sends everything at once without spec.rollout", () => {
    expect(planWaves({ policy: "p", spec: undefined, all, waiting: all, nextWave: 1 }).map((w) => w.length)).toEqual([50]);
  });
});
