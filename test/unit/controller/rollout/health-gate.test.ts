import { describe, expect, it } from "vitest";
import type { CounterSample } from "../../../../src/api/v1alpha1/node-state.js";
import { counterRate, HEALTH_FLOORS, judgeHealth, regressionLimit } from "../../../../src/controller/rollout/health-gate.js";

const T0 = Date.parse("2026-03-01T10:00:00Z");
const at = (s: number): string => new Date(T0 + s * 1000).toISOString();

/** A series from [seconds, listenOverflows] pairs (other counters flat), as an agent would report it. */
function series(points: readonly (readonly [number, number | undefined])[], extra: Partial<CounterSample> = {}, bootId = "boot-1"): CounterSample[] {
  return points.map(([t, lo]) => ({
    sampledAt: at(t),
    bootId,
    ...(lo !== undefined ? { listenOverflows: String(lo) } : {}),
    listenDrops: "100",
    tcpAbortOnTimeout: "7",
    attemptFails: "3",
    activeOpens: "5000",
    ...extra,
  }));
}

const CHANGED_AT = new Date(T0 + 60_000);

describe("counterRate", () => {
  it.each([
    [
      "a steady rise",
      [
        [0, 100],
        [10, 110],
        [20, 120],
      ],
      1,
    ],
    [
      "a flat counter",
      [
        [0, 5],
        [30, 5],
      ],
      0,
    ],
    [
      "a reset (reboot) in the middle: the pair that went down is left out",
      [
        [0, 1000],
        [10, 1010],
        [20, 3],
        [30, 13],
      ],
      1,
    ],
    [
      "a counter missing in one sample",
      [
        [0, 10],
        [10, undefined],
        [20, 30],
        [30, 40],
      ],
      1,
    ],
  ] as const)("reads %s", (_what, points, perSecond) => {
    expect(counterRate(series(points), "listenOverflows")?.perSecond).toBeCloseTo(perSecond, 6);
  });

  it("has no rate from one sample, or when the kernel never exposes the counter", () => {
    expect(counterRate(series([[0, 1]]), "listenOverflows")).toBeUndefined();
    expect(
      counterRate(
        series([
          [0, undefined],
          [10, undefined],
        ]),
        "listenOverflows",
      ),
    ).toBeUndefined();
  });

  it("leaves out a pair across a boot id change even when the value went up", () => {
    const s = [
      ...series(
        [
          [0, 10],
          [10, 20],
        ],
        {},
        "boot-1",
      ),
      ...series(
        [
          [20, 5000],
          [30, 5010],
        ],
        {},
        "boot-2",
      ),
    ];
    expect(counterRate(s, "listenOverflows")?.perSecond).toBeCloseTo(1, 6);
  });

  it("keeps counters past 2^53 exact enough to read a small rate", () => {
    const big = 2n ** 60n;
    const s: CounterSample[] = [
      { sampledAt: at(0), listenOverflows: String(big) },
      { sampledAt: at(10), listenOverflows: String(big + 20n) },
    ];
    expect(counterRate(s, "listenOverflows")?.perSecond).toBeCloseTo(2, 6);
  });
});

describe("regressionLimit", () => {
  it("is three times the baseline, or the baseline plus the counter's floor when that is higher", () => {
    expect(regressionLimit(0, "listenOverflows")).toBe(HEALTH_FLOORS.listenOverflows);
    expect(regressionLimit(10, "listenOverflows")).toBe(30);
    expect(regressionLimit(0.02, "listenOverflows")).toBeCloseTo(0.12, 9);
  });
});

// Recorded shapes: 10 s samples, the wave released at 60 s, soak to 120 s.
const BEFORE_FLAT = [
  [0, 500],
  [10, 502],
  [20, 504],
  [30, 506],
  [40, 508],
  [50, 510],
] as const; // 0.2/s
const AFTER_FLAT = [
  [60, 512],
  [70, 514],
  [80, 516],
  [90, 518],
  [100, 520],
  [110, 522],
  [120, 524],
] as const;
const AFTER_10X = [
  [60, 512],
  [70, 532],
  [80, 552],
  [90, 572],
  [100, 592],
  [110, 612],
  [120, 632],
] as const; // 2/s

describe("judgeHealth", () => {
  const peer = (name: string, points: readonly (readonly [number, number])[]) => ({ name, samples: series(points) });
  const unchangedFlat = [peer("u1", [...BEFORE_FLAT, ...AFTER_FLAT]), peer("u2", [...BEFORE_FLAT, ...AFTER_FLAT])];

  it("fails a node whose ListenOverflows rate went to ten times its baseline, and names the counter and the rates", () => {
    const [v] = judgeHealth({ changed: [{ name: "n1", samples: series([...BEFORE_FLAT, ...AFTER_10X]) }], unchanged: unchangedFlat, changedAt: CHANGED_AT });
    expect(v?.healthy).toBe(false);
    expect(v?.findings.map((f) => f.counter)).toEqual(["listenOverflows"]);
    expect(v?.findings[0]?.after).toBeCloseTo(2, 6);
    expect(v?.findings[0]?.before).toBeCloseTo(0.2, 6);
    expect(v?.message).toBe("health gate: listenOverflows 2.0/s after the change (0.20/s before, 0.20/s on unchanged nodes; limit 0.60/s)");
  });

  it("passes a node whose counters stayed flat", () => {
    const [v] = judgeHealth({ changed: [{ name: "n1", samples: series([...BEFORE_FLAT, ...AFTER_FLAT]) }], unchanged: unchangedFlat, changedAt: CHANGED_AT });
    expect(v).toMatchObject({ healthy: true, findings: [] });
    expect(v?.message).toMatch(/passed on 4 counter/);
  });

  it("does not blame the change for a rise the unchanged nodes see too (a fleet-wide spike)", () => {
    const spiking = [peer("u1", [...BEFORE_FLAT, ...AFTER_10X]), peer("u2", [...BEFORE_FLAT, ...AFTER_10X])];
    const [v] = judgeHealth({ changed: [{ name: "n1", samples: series([...BEFORE_FLAT, ...AFTER_10X]) }], unchanged: spiking, changedAt: CHANGED_AT });
    expect(v?.healthy).toBe(true);
  });

  it("judges against its own baseline alone on the last wave (no unchanged node left)", () => {
    const [v] = judgeHealth({ changed: [{ name: "n1", samples: series([...BEFORE_FLAT, ...AFTER_10X]) }], unchanged: [], changedAt: CHANGED_AT });
    expect(v?.healthy).toBe(false);
    expect(v?.findings[0]?.peers).toBeUndefined();
  });

  it("judges against the unchanged nodes alone when the node has no samples from before the change", () => {
    const [v] = judgeHealth({ changed: [{ name: "n1", samples: series(AFTER_10X) }], unchanged: unchangedFlat, changedAt: CHANGED_AT });
    expect(v?.healthy).toBe(false);
    expect(v?.findings[0]?.before).toBeUndefined();
  });

  it("does not judge (and says why) without a baseline of any kind, or without two samples after the change", () => {
    const [none] = judgeHealth({ changed: [{ name: "n1", samples: series(AFTER_10X) }], unchanged: [], changedAt: CHANGED_AT });
    expect(none).toMatchObject({ healthy: true, message: expect.stringMatching(/no counter samples from before the change/) });
    const [short] = judgeHealth({ changed: [{ name: "n1", samples: series([...BEFORE_FLAT, [60, 900]]) }], unchanged: unchangedFlat, changedAt: CHANGED_AT });
    expect(short).toMatchObject({ healthy: true, message: expect.stringMatching(/fewer than two counter samples/) });
  });

  it("does not read a reboot during the soak as a regression", () => {
    const rebooted = [
      ...series(BEFORE_FLAT),
      ...series([
        [60, 512],
        [70, 514],
      ]),
      ...series(
        [
          [80, 0],
          [90, 2],
          [100, 4],
        ],
        {},
        "boot-2",
      ),
    ];
    const [v] = judgeHealth({ changed: [{ name: "n1", samples: rebooted }], unchanged: unchangedFlat, changedAt: CHANGED_AT });
    expect(v?.healthy).toBe(true);
  });

  it("stays quiet below the floor: from 0 to a few overflows a minute is not a regression", () => {
    const zero = [
      [0, 0],
      [10, 0],
      [20, 0],
      [30, 0],
      [40, 0],
      [50, 0],
    ] as const;
    const few = [
      [60, 0],
      [70, 0],
      [80, 1],
      [90, 1],
      [100, 1],
      [110, 2],
      [120, 2],
    ] as const; // 1/30 per s
    const [v] = judgeHealth({ changed: [{ name: "n1", samples: series([...zero, ...few]) }], unchanged: [], changedAt: CHANGED_AT });
    expect(v?.healthy).toBe(true);
  });

  it("fails on any of the gate's counters: failed connects (AttemptFails) rising", () => {
    const before = series(BEFORE_FLAT).map((s, i) => ({ ...s, attemptFails: String(10 + i) })); // 0.1/s
    const after = series(AFTER_FLAT).map((s, i) => ({ ...s, attemptFails: String(20 + i * 30) })); // 3/s
    const [v] = judgeHealth({ changed: [{ name: "n1", samples: [...before, ...after] }], unchanged: [], changedAt: CHANGED_AT });
    expect(v?.findings.map((f) => f.counter)).toEqual(["attemptFails"]);
  });
});

describe("judgeHealth with a baseline recorded when the wave started", () => {
  it("measures the rate after from the recorded sample, even when the history no longer holds the burst", () => {
    const start: CounterSample = { sampledAt: at(55), listenOverflows: "510" };
    // The history now holds only the last samples, long after a burst of 300 overflows.
    const recent = series([
      [200, 812],
      [210, 814],
      [220, 816],
    ]);
    const [v] = judgeHealth({
      changed: [{ name: "n1", samples: recent, baseline: { start, before: { listenOverflows: 0.2 } } }],
      unchanged: [],
      changedAt: CHANGED_AT,
    });
    expect(v?.healthy).toBe(false);
    expect(v?.findings[0]).toMatchObject({ counter: "listenOverflows", before: 0.2 });
    expect(v?.findings[0]?.after).toBeCloseTo(306 / 165, 6);
    // Without it, the same history shows a flat 0.2/s.
    const [without] = judgeHealth({ changed: [{ name: "n1", samples: recent }], unchanged: [], changedAt: CHANGED_AT });
    expect(without?.healthy).toBe(true);
  });
});
