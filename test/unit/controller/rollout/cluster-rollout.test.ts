import { describe, expect, it } from "vitest";
import { planCluster, REMOVAL_TIMEOUT_MS } from "../../../../src/controller/cluster-plan.js";
import { clusterView, policyView } from "../../../../src/controller/cluster-view.js";
import { createGradualGate } from "../../../../src/controller/rollout/gradual-gate.js";
import { appliedStatus, node, policyObject } from "../fixtures.js";

const FIN = "net.ipv4.tcp_fin_timeout";
const NOW = new Date("2026-03-01T10:00:00Z");
const zones = (i: number) => ({ "topology.kubernetes.io/zone": `z${i % 3}` });

function rolloutPolicy(rollout: Record<string, unknown>, extra: { deleting?: boolean; generation?: number } = {}) {
  const obj = policyObject("p", { [FIN]: "30" }, { generation: extra.generation ?? 1 });
  (obj["spec"] as Record<string, unknown>)["rollout"] = rollout;
  if (extra.deleting) (obj["metadata"] as Record<string, unknown>)["deletionTimestamp"] = "2026-03-01T09:59:00Z";
  return policyView(obj);
}

describe("the controller's plan with the gradual gate", () => {
  it("gives the new values to the canary only, and says so in status.rollout and Progressing", () => {
    const nodes = Array.from({ length: 6 }, (_, i) => node(`n${i}`, { labels: zones(i), state: { sysctls: [], generation: 1, status: appliedStatus(1, []) } }));
    const plan = planCluster(clusterView([rolloutPolicy({ maxUnavailable: 2, canary: { nodes: 1, soakSeconds: 5 } })], nodes), createGradualGate(), NOW);
    const withFin = [...plan.nodes.values()].filter((n) => n.spec.some((s) => s.name === FIN));
    expect(withFin).toHaveLength(1);
    expect(withFin[0]?.spec).toEqual([{ name: FIN, value: "30", policy: "p", policyGeneration: 1 }]);
    const status = plan.statuses.get("p");
    expect(status?.rollout).toMatchObject({ generation: 1, action: "Apply", wave: 1, waves: 4, waveNodes: [withFin[0]?.name] });
    expect(status?.conditions?.find((c) => c.type === "Progressing")).toMatchObject({ status: "True", message: "wave 1/4: 0/6 nodes applied, 1 in flight" });
    expect(status?.conditions?.find((c) => c.type === "Ready")?.status).toBe("False");
  });

  it("takes a deleted policy's keys off in waves: the first wave's nodes lose them, the others keep them", () => {
    const fin = [{ name: FIN, value: "30", policy: "p", policyGeneration: 1 }];
    const nodes = Array.from({ length: 6 }, (_, i) =>
      node(`n${i}`, { labels: zones(i), state: { sysctls: fin, generation: 2, status: appliedStatus(2, fin) } }),
    );
    const plan = planCluster(clusterView([rolloutPolicy({ maxUnavailable: 2 }, { deleting: true })], nodes), createGradualGate(), NOW);
    const without = [...plan.nodes.values()].filter((n) => !n.spec.some((s) => s.name === FIN));
    expect(without).toHaveLength(2);
    expect(plan.statuses.get("p")?.rollout).toMatchObject({
      action: "Remove",
      wave: 1,
      waves: 3,
      nodes: { total: 6, done: 0, inFlight: 2, waiting: 4, failed: 0 },
    });
    expect(plan.statuses.get("p")?.conditions?.find((c) => c.type === "Progressing")?.message).toBe("wave 1/3: 0/6 nodes restored, 2 in flight");
  });

  it("on a spec change, waits for the nodes still applying the previous generation before it gives the new one to a canary", () => {
    const g1 = [{ name: FIN, value: "30", policy: "p", policyGeneration: 1 }];
    const applying = () => ({ sysctls: g1, generation: 2, status: appliedStatus(1, []) }); // wave 2 of generation 1, not reported yet
    const idle = () => ({ sysctls: [], generation: 1, status: appliedStatus(1, []) });
    const gen2 = () => {
      const obj = policyObject("p", { [FIN]: "25" }, { generation: 2 });
      (obj["spec"] as Record<string, unknown>)["rollout"] = { maxUnavailable: 2, canary: { nodes: 1 } };
      return policyView(obj);
    };
    const before = Array.from({ length: 6 }, (_, i) => node(`n${i}`, { labels: zones(i), state: i < 2 ? applying() : idle() }));
    const held = planCluster(clusterView([gen2()], before), createGradualGate(), NOW);
    expect([...held.nodes.values()].filter((n) => n.spec.some((s) => s.policyGeneration === 2))).toEqual([]);
    expect(held.nodes.get("n0")?.spec).toEqual(g1);
    expect(held.statuses.get("p")?.conditions?.find((c) => c.type === "Progressing")?.message).toBe("waiting to start wave 1/4: 0/6 nodes applied");
    // Once they have reported, the canary goes.
    const landed = Array.from({ length: 6 }, (_, i) =>
      node(`n${i}`, { labels: zones(i), state: i < 2 ? { sysctls: g1, generation: 2, status: appliedStatus(2, g1) } : idle() }),
    );
    const next = planCluster(clusterView([gen2()], landed), createGradualGate(), NOW);
    expect([...next.nodes.values()].filter((n) => n.spec.some((s) => s.policyGeneration === 2))).toHaveLength(1);
  });

  it("reports the whole rollout complete and Ready once every node has applied the generation", () => {
    const fin = [{ name: FIN, value: "30", policy: "p", policyGeneration: 1 }];
    const nodes = Array.from({ length: 3 }, (_, i) =>
      node(`n${i}`, { labels: zones(i), state: { sysctls: fin, generation: 2, status: appliedStatus(2, fin) } }),
    );
    const plan = planCluster(clusterView([rolloutPolicy({ maxUnavailable: 1 })], nodes), createGradualGate(), NOW);
    const status = plan.statuses.get("p");
    expect(status?.rollout).toMatchObject({ nodes: { total: 3, done: 3 }, completedAt: "2026-03-01T10:00:00Z" });
    expect(status?.conditions?.find((c) => c.type === "Ready")).toMatchObject({ status: "True" });
    expect(plan.events.filter((e) => e.reason === "RolloutComplete")).toHaveLength(1);
  });
});

describe("the rollout finalizer", () => {
  const fin = [{ name: FIN, value: "30", policy: "p", policyGeneration: 1 }];
  const withFinalizer = (obj: Record<string, unknown>, deletedAt?: string) => {
    const m = obj["metadata"] as Record<string, unknown>;
    m["finalizers"] = ["tcptuning.io/rollout"];
    m["resourceVersion"] = "42";
    if (deletedAt) m["deletionTimestamp"] = deletedAt;
    return policyView(obj);
  };
  const objWithRollout = () => {
    const obj = policyObject("p", { [FIN]: "30" });
    (obj["spec"] as Record<string, unknown>)["rollout"] = { maxUnavailable: 1 };
    return obj;
  };

  it("is added to an Enforce policy with spec.rollout, and not to one without", () => {
    const nodes = [node("n0", { state: { sysctls: [], generation: 1, status: appliedStatus(1, []) } })];
    expect(planCluster(clusterView([rolloutPolicy({ maxUnavailable: 1 })], nodes), createGradualGate(), NOW).finalizers).toEqual([
      { policy: "p", resourceVersion: undefined, finalizers: ["tcptuning.io/rollout"] },
    ]);
    expect(planCluster(clusterView([policyView(policyObject("p", { [FIN]: "30" }))], nodes), createGradualGate(), NOW).finalizers).toEqual([]);
  });

  it("holds a deleted policy while its keys are still on nodes, and lets it go once they are gone or after the timeout", () => {
    const carrying = [0, 1].map((i) => node(`n${i}`, { state: { sysctls: fin, generation: 2, status: appliedStatus(2, fin) } }));
    const deleted = withFinalizer(objWithRollout(), "2026-03-01T09:59:00Z");
    expect(planCluster(clusterView([deleted], carrying), createGradualGate(), NOW).finalizers).toEqual([]);
    const late = new Date(Date.parse("2026-03-01T09:59:00Z") + REMOVAL_TIMEOUT_MS + 1000);
    expect(planCluster(clusterView([deleted], carrying), createGradualGate(), late).finalizers).toEqual([
      { policy: "p", resourceVersion: "42", finalizers: [] },
    ]);
    const clean = [0, 1].map((i) => node(`n${i}`, { state: { sysctls: [], generation: 3, status: appliedStatus(3, []) } }));
    expect(planCluster(clusterView([deleted], clean), createGradualGate(), NOW).finalizers).toEqual([{ policy: "p", resourceVersion: "42", finalizers: [] }]);
  });
});
