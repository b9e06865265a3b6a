import { describe, expect, it } from "vitest";
import { planCluster } from "../../../src/controller/cluster-plan.js";
import { clusterView, type NodeView, type PolicyView } from "../../../src/controller/cluster-view.js";
import { nodeProgress } from "../../../src/controller/node-progress.js";
import { summarizeFindings } from "../../../src/controller/policy-status.js";
import { immediateGate } from "../../../src/controller/rollout-gate.js";
import { evaluatePolicy, prepareNode } from "../../../src/rules/index.js";
import { appliedStatus, node, policy, policyObject } from "./fixtures.js";
import { policyView } from "../../../src/controller/cluster-view.js";

const FIN = "net.ipv4.tcp_fin_timeout";
const KEEPALIVE = "net.ipv4.tcp_keepalive_time";
const REUSE = "net.ipv4.tcp_tw_reuse";
const now = new Date("2026-03-01T00:00:00Z");
const later = new Date("2026-03-01T01:00:00Z");

const cond = (s: { conditions?: { type: string; status: string; reason: string; message: string }[] } | undefined, type: string) =>
  s?.conditions?.find((c) => c.type === type);

function plan(policies: PolicyView[], nodes: NodeView[], at = now) {
  return planCluster(clusterView(policies, nodes), immediateGate, at);
}

describe("summarizeFindings", () => {
  it("groups node findings by rule and sysctl, lists the nodes, and puts denials first", () => {
    const nodes = [
      prepareNode({ name: "old-1", labels: {}, kernelVersion: "4.4.0-210-generic" }),
      prepareNode({ name: "old-2", labels: {}, kernelVersion: "4.9.0-19-amd64" }),
      prepareNode({ name: "new-1", labels: {}, kernelVersion: "6.6.54" }),
    ];
    const report = evaluatePolicy(policyObject("p", { "net.ipv4.tcp_tw_recycle": "1", [FIN]: "30" }), nodes);
    const summary = summarizeFindings(report);
    expect(summary[0]?.severity).toBe("deny");
    const perNode = summary.find((s) => s.rule === "TT010" && s.nodes);
    expect(perNode?.nodes).toEqual(["old-1", "old-2"]);
    expect(perNode?.nodeCount).toBe(2);
    expect(summary.findIndex((s) => s.severity === "warn")).toBeGreaterThan(summary.findLastIndex((s) => s.severity === "deny"));
  });
});

describe("nodeProgress: where a policy stands on a node", () => {
  const won = [{ name: FIN, value: "30", policy: "p", policyGeneration: 2 }];
  const active = { kind: "active" as const, won, overridden: [], withheld: [] };
  const spec = [{ name: FIN, value: "30", policy: "p", policyGeneration: 2 }];
  it.each([
    ["no node state yet", undefined, "pending"],
    ["the key not released", { sysctls: [], generation: 1, status: appliedStatus(1, []) }, "pending"],
    ["released at an older policy generation", { sysctls: [{ ...spec[0]!, policyGeneration: 1 }], generation: 3, status: appliedStatus(3, spec) }, "pending"],
    ["the agent behind", { sysctls: spec, generation: 4, status: appliedStatus(3, spec) }, "pending"],
    ["applied and verified", { sysctls: spec, generation: 4, status: appliedStatus(4, spec) }, "applied"],
    [
      "the agent failed the key",
      { sysctls: spec, generation: 4, status: { observedGeneration: 4, keys: [{ name: FIN, result: "Failed" as const, message: "EINVAL" }] } },
      "failed",
    ],
    [
      "the agent held the key back (another key failed)",
      { sysctls: spec, generation: 4, status: { observedGeneration: 4, keys: [{ name: FIN, result: "Pending" as const }] } },
      "failed",
    ],
  ])("with %s: %s", (_what, observed, expected) => {
    expect(nodeProgress(active, 2, observed).state).toBe(expected);
  });
  it("counts a withheld key as failed and a rejection as rejected", () => {
    expect(nodeProgress({ ...active, withheld: [{ sysctl: KEEPALIVE, reason: "Conflict", policies: ["q"], message: "conflict" }] }, 2, undefined)).toEqual({
      state: "failed",
      reason: "conflict",
    });
    expect(nodeProgress({ kind: "rejected", findings: [] }, 2, undefined).state).toBe("rejected");
  });
});

describe("policy status from the whole cluster", () => {
  it("is Progressing before the agents report, Ready only when every allowed node has applied the generation, and counts rejections", () => {
    const p = policy("reuse", { [REUSE]: "2" }, { generation: 3 });
    const fresh = [node("a"), node("b"), node("old", { kernel: "4.4.0-210-generic" }), node("win", { os: "windows" })];
    const s1 = plan([p], fresh).statuses.get("reuse");
    expect(s1?.nodes).toEqual({ matched: 3, applied: 0, pending: 2, failed: 0, rejected: 1 });
    expect(s1?.observedGeneration).toBe(3);
    expect(cond(s1, "Accepted")).toMatchObject({ status: "True", observedGeneration: 3 });
    expect(cond(s1, "Progressing")).toMatchObject({ status: "True", reason: "Applying" });
    expect(cond(s1, "Ready")).toMatchObject({ status: "False", reason: "Progressing" });
    expect(cond(s1, "Degraded")).toMatchObject({ status: "True", reason: "NodesRejected" });
    expect(cond(s1, "Degraded")?.message).toContain("old");

    const spec = [{ name: REUSE, value: "2", policy: "reuse", policyGeneration: 3 }];
    const done = [
      node("a", { state: { sysctls: spec, generation: 2, status: appliedStatus(2, spec) } }),
      node("b", { state: { sysctls: spec, generation: 5, status: appliedStatus(5, spec) } }),
      node("old", { kernel: "4.4.0-210-generic" }),
    ];
    const s2 = plan([policyView({ ...policyObject("reuse", { [REUSE]: "2" }, { generation: 3 }), status: s1 })], done).statuses.get("reuse");
    expect(s2?.nodes).toEqual({ matched: 3, applied: 2, pending: 0, failed: 0, rejected: 1 });
    expect(cond(s2, "Ready")).toMatchObject({ status: "True", reason: "Applied" });
    expect(cond(s2, "Progressing")).toMatchObject({ status: "False" });
  });

  it("computes an equal status for an unchanged cluster later: lastTransitionTime does not move", () => {
    const p = policyObject("p", { [FIN]: "30" });
    const spec = [{ name: FIN, value: "30", policy: "p", policyGeneration: 1 }];
    const nodes = [node("a", { state: { sysctls: spec, generation: 1, status: appliedStatus(1, spec) } })];
    const first = plan([policyView(p)], nodes, now).statuses.get("p");
    const second = plan([policyView({ ...p, status: first })], nodes, later).statuses.get("p");
    expect(second).toEqual(first);
  });

  it("reports a conflict on both policies as Degraded with reason Conflict, with one Event per policy naming the nodes and the key", () => {
    const result = plan([policy("a", { [FIN]: "30" }), policy("b", { [FIN]: "20" })], [node("n1"), node("n2")]);
    for (const name of ["a", "b"]) {
      const s = result.statuses.get(name);
      expect(cond(s, "Degraded")).toMatchObject({ status: "True", reason: "Conflict" });
      expect(cond(s, "Ready")).toMatchObject({ status: "False", reason: "Conflict" });
      expect(s?.nodes?.failed).toBe(2);
      expect(s?.withheld?.map((w) => `${w.node}/${w.sysctl}/${w.reason}`)).toEqual([`n1/${FIN}/Conflict`, `n2/${FIN}/Conflict`]);
      // One Event for the situation, naming both nodes and the key.
      const events = result.events.filter((e) => e.policy === name && e.reason === "Conflict");
      expect(events).toHaveLength(1);
      expect(events[0]?.message).toMatch(/^on 2 node\(s\) \(n1, n2\): /);
      expect(events[0]?.message).toContain(FIN);
    }
    expect(result.nodes.get("n1")?.spec).toEqual([]);
  });

  it("refuses a policy the engine denies by itself: not Accepted, nothing written anywhere", () => {
    const result = plan([policy("bad", { "net.ipv4.tcp_timestamps": "0", [REUSE]: "1" }), policy("ok", { [KEEPALIVE]: "600" })], [node("n1")]);
    expect(cond(result.statuses.get("bad"), "Accepted")).toMatchObject({ status: "False", reason: "Denied" });
    expect(result.nodes.get("n1")?.spec.map((s) => s.policy)).toEqual(["ok"]);
  });

  it("gives Windows nodes no node state", () => {
    expect([...plan([policy("p", { [FIN]: "30" })], [node("lin"), node("win", { os: "windows" })]).nodes.keys()]).toEqual(["lin"]);
  });
});
