import { describe, expect, it } from "vitest";
import type { DesiredSysctl, NodeStateStatus } from "../../../../src/api/v1alpha1/node-state.js";
import {
  composeSpec,
  createGradualGate,
  decideGradually,
  type GradualGateNode,
  type GradualGatePolicy,
} from "../../../../src/controller/rollout/gradual-gate.js";

const NOW = new Date("2026-03-01T10:00:00Z");
const P: DesiredSysctl = { name: "net.ipv4.tcp_fin_timeout", value: "30", policy: "p", policyGeneration: 1 };
const Q: DesiredSysctl = { name: "net.core.somaxconn", value: "8192", policy: "q", policyGeneration: 4 };

function applied(generation: number, keys: readonly DesiredSysctl[]): NodeStateStatus {
  return { observedGeneration: generation, keys: keys.map((k) => ({ name: k.name, result: "Applied" as const })) };
}

function node(i: number, current: DesiredSysctl[] | undefined, desired: DesiredSysctl[]): GradualGateNode {
  return {
    name: `n${i}`,
    labels: { "topology.kubernetes.io/zone": `z${i % 2}` },
    current,
    desired,
    generation: 1,
    status: current ? applied(1, current) : undefined,
  };
}

describe("the gradual gate over every policy", () => {
  it("releases the canary of a new policy and holds the other nodes at what they have, other policies' keys included", () => {
    const nodes = [0, 1, 2, 3].map((i) => node(i, [Q], [P, Q]));
    const policies: GradualGatePolicy[] = [
      { name: "p", generation: 1, rollout: { maxUnavailable: 2, canary: { nodes: 1 } }, nodes: nodes.map((n) => n.name) },
      { name: "q", generation: 4, rollout: undefined, nodes: nodes.map((n) => n.name) },
    ];
    const d = decideGradually({ nodes, policies, now: NOW });
    const withP = [...d.specs].filter(([, s]) => s.some((x) => x.policy === "p"));
    expect(withP).toHaveLength(1);
    expect(withP[0]?.[1]).toEqual([Q, P]);
    for (const [name, spec] of d.specs) if (name !== withP[0]?.[0]) expect(spec).toEqual([Q]);
    expect(d.progress.get("p")).toMatchObject({ released: 1, held: 3, message: "wave 1/3: 0/4 nodes applied, 1 in flight" });
    expect(d.progress.get("q")).toMatchObject({ complete: true, message: "rollout complete in 0 wave(s): 4/4 nodes applied" });
  });

  it("rolls a deleted policy's keys off in waves: released nodes lose them, held nodes keep them", () => {
    const nodes = [0, 1, 2, 3].map((i) => node(i, [P, Q], [Q]));
    const d = decideGradually({ nodes, policies: [{ name: "p", generation: 1, rollout: { maxUnavailable: 1 }, nodes: [], deleting: true }], now: NOW });
    const without = [...d.specs.values()].filter((s) => !s.some((x) => x.policy === "p"));
    expect(without).toEqual([[Q]]);
    expect(d.progress.get("p")?.rollout).toMatchObject({ action: "Remove", wave: 1, waves: 4 });
  });

  it("keeps the desired winner when two policies' entries name the same key", () => {
    const low: DesiredSysctl = { ...P, value: "60", policy: "low" };
    const high: DesiredSysctl = { ...P, value: "15", policy: "high" };
    const n: GradualGateNode = { name: "n", labels: {}, current: [low], desired: [high], generation: 1, status: undefined };
    const verdicts = new Map<string, Map<string, "release" | "hold" | "revert">>([
      ["high", new Map([["n", "release"]])],
      ["low", new Map([["n", "hold"]])],
    ]);
    expect(composeSpec(n, verdicts)).toEqual([high]);
  });

  it("lets entries of a policy it does not know (deleted without a finalizer) follow the desired state", () => {
    const gone: DesiredSysctl = { ...P, policy: "gone" };
    const n: GradualGateNode = { name: "n", labels: {}, current: [gone, Q], desired: [Q], generation: 1, status: undefined };
    expect(composeSpec(n, new Map())).toEqual([Q]);
  });
});

describe("the gate's memory of its own last decision", () => {
  const nodes = [0, 1, 2, 3].map((i) => node(i, [], [P]));
  const policies: GradualGatePolicy[] = [{ name: "p", generation: 1, rollout: { maxUnavailable: 1, canary: { nodes: 1 } }, nodes: nodes.map((n) => n.name) }];

  it("starts the next pass from what it decided, not from a cached status that has not caught up", () => {
    const gate = createGradualGate();
    const first = gate.decide({ nodes, policies, now: NOW });
    const second = gate.decide({ nodes, policies, now: new Date(NOW.getTime() + 1000) });
    expect(second.progress.get("p")?.rollout.waveStartedAt).toBe(first.progress.get("p")?.rollout.waveStartedAt);
    expect([...second.specs].filter(([, s]) => s.length > 0).map(([n]) => n)).toEqual([...first.specs].filter(([, s]) => s.length > 0).map(([n]) => n));
  });

  it("forgets it on reset (a new leader starts from the cluster)", () => {
    const gate = createGradualGate();
    gate.decide({ nodes, policies, now: NOW });
    gate.reset?.();
    const again = gate.decide({ nodes, policies, now: new Date(NOW.getTime() + 5000) });
    expect(again.progress.get("p")?.rollout.waveStartedAt).toBe("2026-03-01T10:00:05Z");
  });
});
