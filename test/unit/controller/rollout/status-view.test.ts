import { describe, expect, it } from "vitest";
import type { Policy } from "../../../../src/api/v1alpha1/policy.js";
import type { RolloutStatus } from "../../../../src/api/v1alpha1/rollout-status.js";
import { bar, headline, outcome, PlainPrinter, rolloutFrame } from "../../../../src/controller/rollout/status-view.js";

const NOW = new Date("2026-03-01T10:05:00Z");

function policy(
  rollout: RolloutStatus | undefined,
  conditions: { type: string; status: "True" | "False"; reason?: string; message?: string }[] = [],
  generation = 3,
): Policy {
  return {
    apiVersion: "tcptuning.io/v1alpha1",
    kind: "TcpTuningPolicy",
    metadata: { name: "edge", generation },
    spec: { sysctls: [{ name: "net.ipv4.tcp_fin_timeout", value: "30" }] },
    status: {
      observedGeneration: generation,
      conditions: conditions.map((c) => ({ reason: "R", message: "", ...c, observedGeneration: generation, lastTransitionTime: "2026-03-01T10:00:00Z" })),
      ...(rollout ? { rollout } : {}),
    },
  };
}

const SOAKING: RolloutStatus = {
  generation: 3,
  action: "Apply",
  wave: 3,
  waves: 7,
  waveStartedAt: "2026-03-01T10:04:00Z",
  soakStartedAt: "2026-03-01T10:04:15Z",
  soakSeconds: 90,
  waveNodes: ["n-1", "n-2", "n-3", "n-4", "n-5"],
  nodes: { total: 40, done: 12, inFlight: 0, waiting: 28, failed: 0 },
  waveList: [
    { wave: 1, size: 1, done: 1, failed: 0, state: "Done" },
    { wave: 2, size: 6, done: 6, failed: 0, state: "Done" },
    { wave: 3, size: 5, done: 5, failed: 0, state: "InFlight" },
    { wave: 4, size: 6, done: 0, failed: 0, state: "Waiting" },
    { wave: 5, size: 6, done: 0, failed: 0, state: "Waiting" },
    { wave: 6, size: 6, done: 0, failed: 0, state: "Waiting" },
    { wave: 7, size: 10, done: 0, failed: 0, state: "Waiting" },
  ],
};

const HALTED: RolloutStatus = {
  ...SOAKING,
  waveCompletedAt: "2026-03-01T10:04:50Z",
  nodes: { total: 40, done: 11, inFlight: 0, waiting: 28, failed: 1 },
  waveList: [...(SOAKING.waveList ?? []).slice(0, 2), { wave: 3, size: 5, done: 4, failed: 1, state: "Failed" }, ...(SOAKING.waveList ?? []).slice(3)],
  failedNodes: [{ name: "n-4", wave: 3, reason: "HealthGate", message: "health gate: listenOverflows 2.0/s after the change (0.20/s before; limit 0.60/s)" }],
  halted: { wave: 3, reason: "HealthGate", message: "1 node(s) failed in wave 3: n-4: HealthGate: ...", at: "2026-03-01T10:04:50Z" },
};

describe("tcp-tuning rollout status rendering", () => {
  it("says where the rollout is in one line", () => {
    expect(headline(policy(SOAKING), NOW)).toBe("wave 3/7: 12/40 nodes applied, soaking 45 s");
  });

  it("draws a bar per wave with the wave's state, plain characters when not a terminal", () => {
    expect(rolloutFrame(policy(SOAKING), NOW, { unicode: false })).toEqual([
      "ttp/edge generation 3 (apply)",
      "wave 3/7: 12/40 nodes applied, soaking 45 s",
      "  wave 1 [########################]   1/1 done",
      "  wave 2 [########################]   6/6 done",
      "  wave 3 [########################]   5/5 soaking 45 s",
      "  wave 4 [........................]   0/6 waiting",
      "  wave 5 [........................]   0/6 waiting",
      "  wave 6 [........................]   0/6 waiting",
      "  wave 7 [........................]  0/10 waiting",
    ]);
  });

  it("lists the failed nodes and why, and ends Degraded when a failure stopped the rollout", () => {
    const p = policy(HALTED, [{ type: "Degraded", status: "True", reason: "RolloutHalted", message: "1 node(s) failed in wave 3: n-4: HealthGate" }]);
    const frame = rolloutFrame(p, NOW, { unicode: true });
    expect(frame[1]).toBe("halted after wave 3/7: 11/40 nodes applied, 1 failed; set tcptuning.io/resume to a new value or change the spec to resume");
    expect(frame).toContain("  wave 3 [███████████████████▓▓▓▓▓]   4/5 halted, 1 failed");
    expect(frame).toContain("failed nodes (1):");
    expect(frame).toContain("  n-4 (wave 3) HealthGate: health gate: listenOverflows 2.0/s after the change (0.20/s before; limit 0.60/s)");
    expect(frame.at(-1)).toBe("Degraded: 1 node(s) failed in wave 3: n-4: HealthGate");
    expect(outcome(p)).toBe("degraded");
  });

  it("ends Ready only when Ready is True for this generation and the rollout completed", () => {
    const done: RolloutStatus = {
      ...SOAKING,
      wave: 7,
      waveCompletedAt: "t",
      completedAt: "t",
      nodes: { total: 40, done: 40, inFlight: 0, waiting: 0, failed: 0 },
    };
    expect(outcome(policy(done, [{ type: "Ready", status: "True" }]))).toBe("ready");
    expect(outcome(policy(SOAKING, [{ type: "Ready", status: "True" }]))).toBeUndefined();
    // A Ready about the previous generation says nothing about this one.
    const stale = policy(done, [{ type: "Ready", status: "True" }]);
    stale.metadata.generation = 4;
    expect(outcome(stale)).toBeUndefined();
    expect(headline(stale, NOW)).toBe("waiting for the controller to observe generation 4");
  });

  it("ends Degraded when the rollout finished with failed nodes (no pauseOnFailure)", () => {
    const finished: RolloutStatus = {
      ...SOAKING,
      wave: 7,
      waveCompletedAt: "t",
      completedAt: "t",
      nodes: { total: 40, done: 39, inFlight: 0, waiting: 0, failed: 1 },
    };
    expect(
      outcome(
        policy(finished, [
          { type: "Ready", status: "False" },
          { type: "Degraded", status: "True" },
        ]),
      ),
    ).toBe("degraded");
  });

  it("shows a removal's progress while the policy is being deleted", () => {
    const removal: RolloutStatus = {
      ...SOAKING,
      action: "Remove",
      soakStartedAt: undefined,
      nodes: { total: 40, done: 12, inFlight: 5, waiting: 23, failed: 0 },
    } as RolloutStatus;
    delete removal.soakStartedAt;
    const p = policy(removal);
    p.metadata.deletionTimestamp = "2026-03-01T10:03:00Z";
    expect(headline(p, NOW)).toBe("wave 3/7: 12/40 nodes restored, 5 in flight");
  });

  it("keeps a long rollout's view short: waves not listed are summarised", () => {
    const long: RolloutStatus = {
      ...SOAKING,
      wave: 60,
      waves: 100,
      waveList: [
        { wave: 1, size: 1, done: 1, failed: 0, state: "Done" },
        { wave: 59, size: 5, done: 5, failed: 0, state: "Done" },
        { wave: 60, size: 5, done: 2, failed: 0, state: "InFlight" },
      ],
    };
    delete long.soakStartedAt;
    const frame = rolloutFrame(policy(long), NOW, { unicode: false });
    expect(frame).toContain("  ... 57 wave(s) not listed");
    expect(frame.at(-1)).toBe("  ... 40 more wave(s)");
  });

  it("draws bars in proportion, failures apart", () => {
    expect(bar(0, 0, 4, false)).toBe("[........................]");
    expect(bar(2, 1, 4, false)).toBe("[############xxxxxx......]");
    expect(bar(5, 0, 5, true)).toBe("[████████████████████████]");
  });
});

describe("plain lines (not a terminal)", () => {
  it("prints a line when the rollout moves, each failure once, and the outcome once; not every second of a soak", () => {
    const printer = new PlainPrinter();
    expect(printer.lines(policy(SOAKING), NOW)).toEqual(["wave 3/7: 12/40 nodes applied, soaking 45 s"]);
    expect(printer.lines(policy(SOAKING), new Date(NOW.getTime() + 1000))).toEqual([]);
    const p = policy(HALTED, [{ type: "Degraded", status: "True", message: "stopped at wave 3" }]);
    expect(printer.lines(p, NOW)).toEqual([
      "halted after wave 3/7: 11/40 nodes applied, 1 failed; set tcptuning.io/resume to a new value or change the spec to resume",
      "failed: n-4 (wave 3) HealthGate: health gate: listenOverflows 2.0/s after the change (0.20/s before; limit 0.60/s)",
      "Degraded: stopped at wave 3",
    ]);
    expect(printer.lines(p, NOW)).toEqual([]);
  });
});
