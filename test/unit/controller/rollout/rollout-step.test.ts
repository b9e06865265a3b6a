import { describe, expect, it } from "vitest";
import type { CounterSample } from "../../../../src/api/v1alpha1/node-state.js";
import type { Rollout } from "../../../../src/api/v1alpha1/policy.js";
import { PAUSED_ANNOTATION, RESUME_ANNOTATION, type RolloutStatus } from "../../../../src/api/v1alpha1/rollout-status.js";
import { HEALTH_SAMPLE_GRACE_MS, rolloutStep, type RolloutStepResult, type RolloutNode } from "../../../../src/controller/rollout/rollout-step.js";
import { progressMessage, rolloutConditions } from "../../../../src/controller/rollout/progress.js";
import { zoneShare } from "../../../../src/controller/rollout/wave-plan.js";

/**
 * The gate driven by a small in-memory world: the controller publishes what the gate releases or
 * reverts, and each agent reports a published change one step later (applied, or failed for the
 * nodes told to fail), sampling its counters every second.
 */
interface SimNode {
  name: string;
  zone: string;
  atTarget: boolean;
  progress: RolloutNode["progress"];
  /** Still applying a spec that is not the target (the previous generation's, when the spec changed mid-wave). */
  changingElsewhere?: boolean;
  message?: string;
  history: CounterSample[];
  /** listenOverflows per second while at target (baseline 0.2/s otherwise). */
  overflowRateAtTarget: number;
  overflows: number;
}

class World {
  readonly nodes: SimNode[];
  now = Date.parse("2026-03-01T10:00:00Z");
  status: RolloutStatus | undefined;
  annotations: Record<string, string> = {};
  generation = 2;
  action: "Apply" | "Remove" = "Apply";
  failing = new Set<string>();
  maxChanging = 0;
  changingByWave = new Map<number, number>();
  events: RolloutStepResult["events"][number][] = [];
  last: RolloutStepResult | undefined;
  /** Agents report nothing while set (a slow fleet). */
  agentsPaused = false;

  constructor(
    count: number,
    readonly spec: Rollout | undefined,
    zones = ["zone-a", "zone-b", "zone-c"],
  ) {
    this.nodes = Array.from({ length: count }, (_, i) => ({
      name: `n-${String(i).padStart(2, "0")}`,
      zone: zones[i % zones.length] as string,
      atTarget: false,
      progress: "inFlight",
      history: [],
      overflowRateAtTarget: 0.2,
      overflows: 1000,
    }));
    for (let i = 0; i < 10; i++) this.tick(1000); // a baseline in every history
  }

  private sample(): void {
    for (const n of this.nodes) {
      n.history.push({
        sampledAt: new Date(this.now).toISOString(),
        bootId: "b",
        listenOverflows: String(Math.round(n.overflows)),
        listenDrops: "0",
        tcpAbortOnTimeout: "0",
        attemptFails: "0",
      });
      if (n.history.length > 12) n.history.shift();
    }
  }

  tick(ms: number): void {
    this.now += ms;
    for (const n of this.nodes) n.overflows += ((n.atTarget && n.progress !== "inFlight" ? n.overflowRateAtTarget : 0.2) * ms) / 1000;
    this.sample();
  }

  step(): RolloutStepResult {
    // Agents report what was published at the previous step.
    for (const n of this.agentsPaused ? [] : this.nodes) {
      n.changingElsewhere = false;
      if (n.atTarget && n.progress === "inFlight") {
        n.progress = this.failing.has(n.name) ? "failed" : "done";
        if (this.failing.has(n.name)) n.message = "net.ipv4.tcp_fin_timeout Failed: EINVAL";
      } else if (!n.atTarget && n.progress !== "inFlight") {
        n.progress = "inFlight";
      }
    }
    const d = rolloutStep({
      policy: "p",
      generation: this.generation,
      action: this.action,
      spec: this.spec,
      annotations: this.annotations,
      previous: this.status,
      nodes: this.nodes.map((n) => ({
        name: n.name,
        zone: n.zone,
        atTarget: n.atTarget,
        progress: n.progress,
        changing: n.changingElsewhere === true,
        message: n.message,
        counterHistory: [...n.history],
      })),
      now: new Date(this.now),
    });
    this.status = d.status;
    this.events.push(...d.events);
    this.last = d;
    // The controller publishes; agents report at the next step.
    for (const n of this.nodes) {
      if (d.revert.has(n.name) && n.atTarget) {
        n.atTarget = false;
        n.progress = "inFlight";
      } else if (d.release.has(n.name) && !n.atTarget) {
        n.atTarget = true;
        n.progress = "inFlight";
      }
    }
    const changing = this.nodes.filter((n) => (n.atTarget && n.progress === "inFlight") || n.changingElsewhere).length;
    this.maxChanging = Math.max(this.maxChanging, changing);
    this.changingByWave.set(d.status.wave, Math.max(this.changingByWave.get(d.status.wave) ?? 0, changing));
    this.tick(1000);
    return d;
  }

  /** A spec change: a new generation whose target no node has; nodes applying the old one go on applying it. */
  newGeneration(): void {
    this.generation++;
    for (const n of this.nodes) {
      if (n.atTarget && n.progress === "inFlight") n.changingElsewhere = true;
      n.atTarget = false;
      n.progress = "inFlight";
    }
  }

  run(maxSteps = 500, until: (d: RolloutStepResult) => boolean = (d) => d.complete || d.status.halted !== undefined): RolloutStepResult {
    for (let i = 0; i < maxSteps; i++) {
      const d = this.step();
      if (until(d)) return d;
    }
    throw new Error(`no end after ${maxSteps} steps: ${JSON.stringify(this.status)}`);
  }
}

const SPEC: Rollout = { maxUnavailable: "10%", canary: { nodes: 1, soakSeconds: 3 }, pauseOnFailure: true };

describe("the rollout gate on 50 nodes in 3 zones, canary 1, maxUnavailable 10%", () => {
  it("changes 1 node during the canary, then at most 5 at once, respects zone shares, and completes", () => {
    const w = new World(50, SPEC);
    const waves: string[][] = [];
    let d: RolloutStepResult;
    do {
      d = w.step();
      const members = d.status.waveNodes ?? [];
      if (waves.length < d.status.wave) waves.push(members);
    } while (!d.complete);
    expect(w.changingByWave.get(1)).toBe(1);
    expect(w.maxChanging).toBe(5);
    expect(waves[0]).toHaveLength(1);
    for (const [i, members] of waves.entries()) {
      for (const zone of ["zone-a", "zone-b", "zone-c"]) {
        const inZone = members.filter((m) => w.nodes.find((n) => n.name === m)?.zone === zone).length;
        expect(inZone).toBeLessThanOrEqual(zoneShare(i === 0 ? 1 : 5, w.nodes.filter((n) => n.zone === zone).length, 50));
      }
    }
    expect(new Set(waves.flat()).size).toBe(50);
    expect(d.status.nodes).toEqual({ total: 50, done: 50, inFlight: 0, waiting: 0, failed: 0 });
    expect(d.status.wave).toBe(d.status.waves);
    expect(rolloutConditions(d.status, 2, new Date(w.now)).find((c) => c.type === "Ready")).toMatchObject({ status: "True" });
    expect(w.events.filter((e) => e.reason === "RolloutComplete")).toHaveLength(1);
  });

  it("soaks each wave for soakSeconds before the next starts, and says so in one line", () => {
    const w = new World(10, { maxUnavailable: 5, canary: { nodes: 1, soakSeconds: 30 } });
    w.step(); // wave 1 released
    w.step(); // landed: soak starts
    expect(w.last?.requeueAfterMs).toBeGreaterThan(25_000);
    expect(progressMessage(w.status as RolloutStatus, new Date(w.now))).toMatch(/^wave 1\/3: 1\/10 nodes applied, soaking (29|30) s$/);
    w.tick(31_000);
    w.step();
    expect(w.status?.wave).toBe(2);
    expect(progressMessage(w.status as RolloutStatus, new Date(w.now))).toBe("wave 2/3: 1/10 nodes applied, 5 in flight");
  });

  it("rolls a removal out in waves too", () => {
    const w = new World(20, { maxUnavailable: "10%", canary: { nodes: 1 } });
    w.run();
    w.action = "Remove";
    // A removal's target is "none of the policy's keys": every node carries them now, so none is there.
    for (const n of w.nodes) n.atTarget = false;
    w.maxChanging = 0;
    w.changingByWave.clear();
    const d = w.run();
    expect(d.complete).toBe(true);
    expect(w.changingByWave.get(1)).toBe(1);
    expect(w.maxChanging).toBe(2);
    expect(progressMessage(d.status, new Date(w.now))).toBe(`removal complete in ${d.status.wave} wave(s): 20/20 nodes restored`);
  });
});

describe("failures", () => {
  function failingWorld(spec: Rollout): World {
    const w = new World(30, spec);
    w.run(500, (d) => d.status.wave === 2); // wave 2 has just been released
    const target = w.status?.waveNodes?.[0] as string;
    w.failing.add(target);
    return w;
  }

  it("with pauseOnFailure stops after the failing wave, names the node in Degraded, and a new resume value finishes it", () => {
    const w = failingWorld({ ...SPEC, maxUnavailable: 3 });
    const bad = [...w.failing][0] as string;
    const d = w.run();
    expect(d.status.halted).toMatchObject({ wave: 2, reason: "ApplyFailed" });
    const degraded = rolloutConditions(d.status, 2, new Date(w.now)).find((c) => c.type === "Degraded");
    expect(degraded).toMatchObject({ status: "True", reason: "RolloutHalted" });
    expect(degraded?.message).toContain(bad);
    expect(degraded?.message).toContain("EINVAL");
    expect(w.events.some((e) => e.type === "Warning" && e.reason === "RolloutHalted" && e.message.includes(bad))).toBe(true);
    // Stays halted: more steps start no wave.
    for (let i = 0; i < 5; i++) w.step();
    expect(w.status?.wave).toBe(2);
    expect(w.nodes.filter((n) => n.atTarget).length).toBe(4);

    w.annotations[RESUME_ANNOTATION] = "1";
    const end = w.run();
    expect(end.complete).toBe(true);
    expect(end.status.nodes).toMatchObject({ total: 30, done: 29, failed: 1 });
    expect(end.status.failedNodes?.map((f) => f.name)).toEqual([bad]);
    expect(w.events.some((e) => e.reason === "RolloutResumed")).toBe(true);
    expect(rolloutConditions(end.status, 2, new Date(w.now)).find((c) => c.type === "Ready")).toMatchObject({ status: "False", reason: "NodesFailed" });
  });

  it("with rollback gives every node of the failed wave its state before the change back, and retries them on resume", () => {
    const w = failingWorld({ ...SPEC, maxUnavailable: 3, rollback: true });
    const d = w.run();
    expect(d.status.halted?.rolledBack).toBe(true);
    const waveNodes = d.status.waveNodes ?? [];
    expect([...d.revert].sort()).toEqual([...waveNodes].sort());
    w.step();
    for (const m of waveNodes) expect(w.nodes.find((n) => n.name === m)?.atTarget).toBe(false);
    // Canary still at target; the wave rolled back; nothing else released.
    expect(w.nodes.filter((n) => n.atTarget).length).toBe(1);
    // Fixed, then resumed: the restored nodes are tried again and the rollout completes.
    w.failing.clear();
    w.annotations[RESUME_ANNOTATION] = "after-fix";
    const end = w.run();
    expect(end.complete).toBe(true);
    expect(end.status.nodes).toMatchObject({ total: 30, done: 30, failed: 0 });
  });

  it("without pauseOnFailure goes on and counts the failure", () => {
    const w = failingWorld({ maxUnavailable: 3, canary: { nodes: 1, soakSeconds: 1 } });
    const d = w.run();
    expect(d.complete).toBe(true);
    expect(d.status.halted).toBeUndefined();
    expect(d.status.nodes).toMatchObject({ done: 29, failed: 1 });
    expect(w.events.some((e) => e.reason === "WaveFailed")).toBe(true);
  });

  it("a spec change (new generation) starts a new rollout, which also clears a halt", () => {
    const w = failingWorld({ ...SPEC, maxUnavailable: 3 });
    w.run();
    w.failing.clear();
    w.generation = 3;
    for (const n of w.nodes) n.atTarget = false;
    const d = w.step();
    expect(d.status).toMatchObject({ generation: 3, wave: 1 });
    expect(d.status.halted).toBeUndefined();
    expect(w.run().complete).toBe(true);
  });

  it("an old resume value does not resume a later halt", () => {
    const w = failingWorld({ ...SPEC, maxUnavailable: 3 });
    w.annotations[RESUME_ANNOTATION] = "old";
    w.run();
    w.step();
    expect(w.status?.halted).toBeDefined();
  });
});

describe("health gate in the rollout", () => {
  it("fails the canary whose ListenOverflows went to ten times its baseline, and halts", () => {
    const w = new World(12, { maxUnavailable: 3, canary: { nodes: 1, soakSeconds: 5 }, pauseOnFailure: true });
    for (const n of w.nodes) n.overflowRateAtTarget = 2; // 10x the 0.2/s baseline
    const d = w.run();
    expect(d.status.halted).toMatchObject({ wave: 1, reason: "HealthGate" });
    expect(d.status.failedNodes?.[0]?.message).toMatch(
      /^health gate: listenOverflows \d\.\d\/s after the change \(0\.\d+\/s before, 0\.\d+\/s on unchanged nodes; limit/,
    );
    expect(w.events.some((e) => e.reason === "HealthGateFailed")).toBe(true);
  });

  it("passes flat counters", () => {
    const w = new World(12, { maxUnavailable: 3, canary: { nodes: 1, soakSeconds: 5 }, pauseOnFailure: true });
    expect(w.run().complete).toBe(true);
    expect(w.status?.nodes.failed).toBe(0);
  });

  it("waits for a counter sample taken after the soak, then judges with what it has after a grace", () => {
    const w = new World(3, { maxUnavailable: 1, canary: { nodes: 1, soakSeconds: 2 }, pauseOnFailure: true });
    w.step();
    w.step();
    // No samples from now on: an agent that stopped reporting.
    w.tick = function (ms: number) {
      this.now += ms;
    };
    w.now += 3000;
    w.step();
    expect(w.status?.wave).toBe(1);
    expect(progressMessage(w.status as RolloutStatus, new Date(w.now))).toMatch(/health gate waiting for counter samples/);
    w.now += HEALTH_SAMPLE_GRACE_MS;
    w.step();
    expect(w.status?.wave).toBe(2);
  });
});

describe("pause", () => {
  it(`${PAUSED_ANNOTATION}=true lets the wave in flight land but starts no new one`, () => {
    const w = new World(10, { maxUnavailable: 3, canary: { nodes: 1 } });
    w.step();
    w.annotations[PAUSED_ANNOTATION] = "true";
    for (let i = 0; i < 5; i++) w.step();
    expect(w.status?.wave).toBe(1);
    expect(w.nodes.filter((n) => n.atTarget && n.progress === "done")).toHaveLength(1);
    expect(progressMessage(w.status as RolloutStatus, new Date(w.now))).toBe(`paused before wave 2/4 (${PAUSED_ANNOTATION}=true): 1/10 nodes applied`);
    delete w.annotations[PAUSED_ANNOTATION];
    expect(w.run().complete).toBe(true);
  });
});

describe("without spec.rollout", () => {
  it("releases every node at once and completes without a soak", () => {
    const w = new World(40, undefined);
    const d = w.step();
    expect(d.release.size).toBe(40);
    expect(w.run().status.waves).toBe(1);
  });
});

describe("a status older than the node states", () => {
  it("never releases more than a wave's size at once when the status it starts from is stale", () => {
    const w = new World(30, { maxUnavailable: 3, canary: { nodes: 1 } });
    w.run(500, (d) => d.status.wave === 3); // wave 3 released
    const stale = w.status;
    // The next passes start again from the status of one wave before (its write was lost), while
    // the node states (released, some landed) are current. Waves may be misnumbered then, but
    // never more nodes change at once than a wave may hold.
    w.run(500, (d) => d.status.wave === 4);
    for (let i = 0; i < 3; i++) {
      w.status = stale;
      w.step();
      expect(w.nodes.filter((n) => n.atTarget && n.progress === "inFlight").length).toBeLessThanOrEqual(3);
    }
    expect(w.run().complete).toBe(true);
    expect(w.maxChanging).toBeLessThanOrEqual(3);
  });
});

describe("a status older than the node states, with the released nodes still applying", () => {
  it("adopts them into the wave it starts instead of releasing more", () => {
    const w = new World(30, { maxUnavailable: 3, canary: { nodes: 1 } });
    w.run(500, (d) => d.status.wave === 2);
    const stale = w.status;
    w.run(500, (d) => d.status.wave === 3);
    const wave3 = [...(w.status?.waveNodes ?? [])].sort();
    w.agentsPaused = true;
    w.status = stale;
    const d = w.step();
    expect([...(d.status.waveNodes ?? [])].sort()).toEqual(wave3);
    expect(
      w.nodes
        .filter((n) => n.atTarget && n.progress === "inFlight")
        .map((n) => n.name)
        .sort(),
    ).toEqual(wave3);
    w.agentsPaused = false;
    expect(w.run().complete).toBe(true);
    expect(w.maxChanging).toBeLessThanOrEqual(3);
  });
});

describe("a spec change while a wave is applying", () => {
  it("starts the new generation's canary only once the previous generation's wave has landed: never more than a wave's nodes change at once", () => {
    const w = new World(30, { maxUnavailable: 3, canary: { nodes: 1 } });
    w.run(500, (d) => d.status.wave === 3); // wave 3's nodes released, not yet reported
    w.newGeneration();
    w.agentsPaused = true; // they take their time
    w.maxChanging = 0;
    w.changingByWave.clear();
    const first = w.step();
    expect(first.release.size).toBe(0);
    expect(w.nodes.filter((n) => n.changingElsewhere)).toHaveLength(3);
    w.agentsPaused = false;
    const d = w.run();
    expect(d.complete).toBe(true);
    expect(d.status).toMatchObject({ generation: 3, nodes: { total: 30, done: 30 } });
    expect(w.changingByWave.get(1)).toBe(1);
    expect(w.maxChanging).toBe(3);
  });
});

describe("a soak longer than the agents' counter history", () => {
  it("still sees a burst early in the soak: the wave's baseline is recorded when it starts", () => {
    const w = new World(6, { maxUnavailable: 1, canary: { nodes: 1, soakSeconds: 40 }, pauseOnFailure: true });
    w.step(); // the canary released; its baseline recorded
    expect(w.status?.baselines?.map((b) => b.node)).toEqual(w.status?.waveNodes);
    expect(w.status?.baselines?.[0]?.before?.["listenOverflows"]).toBeGreaterThan(0);
    const canary = w.nodes.find((n) => n.name === w.status?.waveNodes?.[0]) as { overflowRateAtTarget: number };
    canary.overflowRateAtTarget = 50; // a burst right after the change...
    w.step();
    w.step();
    canary.overflowRateAtTarget = 0.2; // ...then quiet: 40 s later it has left the 12-sample history
    for (let i = 0; i < 45; i++) w.tick(1000);
    const d = w.step();
    expect(d.status.halted).toMatchObject({ wave: 1, reason: "HealthGate" });
  });
});
