import { describe, expect, it } from "vitest";
import { planCluster } from "../../../src/controller/cluster-plan.js";
import { clusterView } from "../../../src/controller/cluster-view.js";
import { immediateGate } from "../../../src/controller/rollout-gate.js";
import { node, policy } from "./fixtures.js";

const FIN = "net.ipv4.tcp_fin_timeout";
const KEEPALIVE = "net.ipv4.tcp_keepalive_time";
const REUSE = "net.ipv4.tcp_tw_reuse";
const probe = (keys: Record<string, string>) => ({
  kernelRelease: "6.1.0-18-amd64",
  probedAt: "2026-01-01T00:00:00Z",
  keys: Object.entries(keys).map(([name, value]) => ({ name, present: true, value })),
});

describe("DryRun plan", () => {
  it("says per node what Enforce would change, what is already in effect, what is unknown and what would be blocked, and writes nothing", () => {
    const dry = policy("dry", { [FIN]: "30", [KEEPALIVE]: "600", [REUSE]: "2" }, { mode: "DryRun" });
    const high = policy("high", { [KEEPALIVE]: "900" }, { priority: 10 });
    const nodes = [
      node("a", { state: { status: { probe: probe({ [FIN]: "60", [KEEPALIVE]: "7200", [REUSE]: "2" }) } } }),
      node("b"),
      node("old", { kernel: "4.4.0-210-generic" }),
    ];
    const result = planCluster(clusterView([dry, high], nodes), immediateGate, new Date());
    const s = result.statuses.get("dry");
    const rows = Object.fromEntries((s?.plan?.items ?? []).map((i) => [`${i.node} ${i.sysctl}`, `${i.current ?? "?"}->${i.desired} ${i.action}`]));
    expect(rows).toMatchObject({
      [`a ${FIN}`]: "60->30 Change",
      [`a ${REUSE}`]: "2->2 NoChange",
      [`a ${KEEPALIVE}`]: "7200->600 Overridden",
      [`b ${FIN}`]: "?->30 Unknown",
      [`old ${REUSE}`]: "?->2 Rejected",
    });
    expect(s?.plan).toMatchObject({ nodes: 3, changes: 1, unchanged: 1, unknown: 2, blocked: 5 });
    expect(s?.nodes).toMatchObject({ matched: 3, rejected: 1, applied: 0 });
    // Only the Enforce policy reaches the node states.
    expect([...result.nodes.values()].flatMap((n) => n.spec.map((x) => x.policy))).toEqual(["high", "high", "high"]);
  });
});
