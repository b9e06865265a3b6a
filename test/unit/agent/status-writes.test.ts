import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { Agent } from "../../../src/agent/main.js";
import { jitteredInterval, StatusWriteGate } from "../../../src/agent/status-writes.js";
import { createSysctlFs, type SysctlFs } from "../../../src/agent/sysctl-fs.js";
import type { NodeStateStatus } from "../../../src/api/v1alpha1/node-state.js";
import { createLogger } from "../../../src/log.js";
import { until } from "../../support/eventually.js";
import { cleanupAll, pushBackend, sysctlRoot } from "./support/sysctl-root.js";
import { seeded } from "../../support/seeded.js";

/** Status writes proportional to change (issue 10): the gate on a simulated clock, then a real agent. */

const dirs: string[] = [];
afterEach(() => cleanupAll(dirs));

const MIN = 60_000;

/** The status an unchanged node builds at every drift check: only the sampling times and counters move. */
function steady(t: number, extra: Partial<NodeStateStatus> = {}): NodeStateStatus {
  const at = new Date(t).toISOString();
  return {
    observedGeneration: 3,
    probe: { kernelRelease: "6.1.0", probedAt: at, keys: [{ name: "net.ipv4.tcp_tw_reuse", present: true, value: "1" }] },
    counters: { sampledAt: at, timeWait: String(t % 977), twRecycled: String(Math.floor(t / 1000)) },
    conditions: [
      {
        type: "Applied",
        status: "True",
        reason: "AllKeysApplied",
        message: "1 desired sysctl(s) in effect and verified",
        lastTransitionTime: "2026-01-01T00:00:00Z",
        observedGeneration: 3,
      },
    ],
    ...extra,
  };
}

function run(gate: StatusWriteGate, hours: number, driftMs: number, startMs: number, status: (t: number) => NodeStateStatus = steady): number[] {
  const writes: number[] = [];
  for (let t = startMs; t < startMs + hours * 3_600_000; t += driftMs) {
    const s = status(t);
    if (gate.reason(s, t) !== undefined) {
      gate.written(s, t);
      writes.push(t);
    }
  }
  return writes;
}

describe("when the agent writes its status", () => {
  it("writes an unchanged node's status once, then only the counters every 10 min +-20 %", () => {
    const writes = run(new StatusWriteGate(10 * MIN, seeded(1)), 24, MIN, 0);
    const gaps = writes.slice(1).map((t, i) => t - (writes[i] ?? 0));
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(8 * MIN);
    expect(Math.max(...gaps)).toBeLessThanOrEqual(13 * MIN); // 12 min + one drift interval of rounding
    expect(writes.length).toBeGreaterThanOrEqual((24 * 60) / 13);
    expect(writes.length).toBeLessThanOrEqual((24 * 60) / 8 + 1);
  });

  it.each([
    [
      "a condition",
      (s: NodeStateStatus): NodeStateStatus => ({
        ...s,
        conditions: [{ type: "Drifted", status: "True", reason: "DriftCorrected", message: "x", lastTransitionTime: "2026-01-01T00:00:00Z" }],
      }),
    ],
    [
      "a probed value",
      (s: NodeStateStatus): NodeStateStatus => ({
        ...s,
        probe: s.probe ? { ...s.probe, keys: [{ name: "net.ipv4.tcp_tw_reuse", present: true, value: "2" }] } : undefined,
      }),
    ],
    ["the generation", (s: NodeStateStatus): NodeStateStatus => ({ ...s, observedGeneration: 4 })],
    ["the originals", (s: NodeStateStatus): NodeStateStatus => ({ ...s, originals: [{ name: "net.ipv4.tcp_tw_reuse", value: "2", recordedAt: "t" }] })],
  ])("writes at once when %s changes, whatever the counters cadence", (_what, change) => {
    const gate = new StatusWriteGate(10 * MIN, seeded(2));
    gate.written(steady(0), 0);
    expect(gate.reason(steady(MIN), MIN)).toBeUndefined();
    expect(gate.reason(change(steady(2 * MIN)), 2 * MIN)).toBe("changed");
  });

  it("counts a growing counter history (the rollout's health samples) as counters, not as a change", () => {
    const gate = new StatusWriteGate(10 * MIN, seeded(4));
    const withHistory = (t: number, n: number) =>
      ({ ...steady(t), counterHistory: Array.from({ length: n }, (_, i) => ({ sampledAt: new Date(i).toISOString() })) }) as NodeStateStatus;
    gate.written(withHistory(0, 1), 0);
    expect(gate.reason(withHistory(MIN, 2), MIN)).toBeUndefined();
    expect(gate.reason(withHistory(13 * MIN, 14), 13 * MIN)).toBe("counters");
  });

  it("retries a status whose write failed at the next check (nothing recorded until written)", () => {
    const gate = new StatusWriteGate(10 * MIN, seeded(3));
    expect(gate.reason(steady(0), 0)).toBe("first");
    expect(gate.reason(steady(MIN), MIN)).toBe("first");
  });

  it("keeps 5,000 agents with a 60 s drift interval at about 8 writes/s together instead of 83", () => {
    const random = seeded(5000);
    let total = 0;
    const hours = 1;
    for (let node = 0; node < 5000; node++) {
      // Agents started at random moments of the first minute: the first write of each is excluded.
      const writes = run(new StatusWriteGate(10 * MIN, random), hours, MIN, Math.floor(random() * MIN));
      total += writes.length - 1;
    }
    const perSecond = total / (hours * 3600);
    expect(perSecond).toBeGreaterThan(5000 / 720);
    expect(perSecond).toBeLessThan(5000 / 480);
  });

  it("spreads a jittered interval over +-20 %", () => {
    expect(jitteredInterval(600_000, () => 0)).toBe(480_000);
    expect(jitteredInterval(600_000, () => 0.5)).toBe(600_000);
    expect(jitteredInterval(600_000, () => 0.999999)).toBe(720_000);
  });
});

describe("a running agent on an unchanged node", () => {
  it("writes no status at its drift checks until something changes, then writes that change", async () => {
    const root = await sysctlRoot({ "net.ipv4.tcp_tw_reuse": "2" }, dirs);
    const real = createSysctlFs(root);
    let checks = 0;
    const counting: SysctlFs = {
      root: real.root,
      exists: (n) => real.exists(n),
      write: (n, v) => real.write(n, v),
      read: (n) => {
        if (n === "net.ipv4.tcp_tw_reuse") checks++;
        return real.read(n);
      },
    };
    const backend = pushBackend();
    const agent = new Agent({
      nodeName: "worker-1",
      fs: counting,
      stateFile: join(root, "state/s.json"),
      procNet: join(root, "none"),
      driftIntervalMs: 20,
      countersReportIntervalMs: 3_600_000,
      backend,
      log: createLogger("test", { level: "silent" }),
    });
    await agent.start();
    try {
      backend.push({ generation: 1, sysctls: [{ name: "net.ipv4.tcp_tw_reuse", value: "1" }], deleted: false });
      await until("the first status", () => backend.statuses.length === 1, 20_000);
      const before = checks;
      await until("30 drift checks", () => checks >= before + 30 * 2, 60_000); // each check reads the key twice (drift + probe)
      expect(backend.statuses).toHaveLength(1);

      await writeFile(join(root, "net/ipv4/tcp_tw_reuse"), "0\n");
      await until("the drift reported", () => backend.statuses.some((s) => s.drift?.count === 1), 20_000);
      const after = backend.statuses.length;
      const mark = checks;
      await until("30 more drift checks", () => checks >= mark + 30 * 2, 60_000);
      expect(backend.statuses.length).toBe(after);
    } finally {
      await agent.stop();
    }
  });
});
