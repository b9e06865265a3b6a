import { describe, expect, it } from "vitest";
import { componentRegistry, ControllerMetrics } from "../../../src/metrics/index.js";

async function series(registry: ReturnType<typeof componentRegistry>, name: string): Promise<{ labels: Record<string, string | number>; value: number }[]> {
  const m = (await registry.getMetricsAsJSON()).find((x) => x.name === name);
  return (m?.values ?? []).map((v) => ({ labels: v.labels as Record<string, string | number>, value: v.value }));
}

describe("ControllerMetrics", () => {
  it("replaces a policy's states, so a state it left does not stay at its last count", async () => {
    const registry = componentRegistry("controller", { processMetrics: false });
    const m = new ControllerMetrics(registry);
    m.setPolicyProgress("edge", { Applied: 3, Pending: 1 });
    expect(await series(registry, "tcptuning_controller_rollout_progress_ratio")).toEqual([
      { labels: { policy: "edge", component: "controller" }, value: 0.75 },
    ]);
    m.setPolicyProgress("edge", { Applied: 4 });
    expect((await series(registry, "tcptuning_controller_policy_nodes")).map((s) => s.labels["state"])).toEqual(["Applied"]);
    expect((await series(registry, "tcptuning_controller_rollout_progress_ratio"))[0]?.value).toBe(1);
  });

  it("drops every series of a policy that is gone", async () => {
    const registry = componentRegistry("controller", { processMetrics: false });
    const m = new ControllerMetrics(registry);
    m.setPolicyProgress("a", { Applied: 1 });
    m.setPolicyProgress("b", { Pending: 2 });
    m.forgetPoliciesExcept(new Set(["b"]));
    expect((await series(registry, "tcptuning_controller_policy_nodes")).map((s) => s.labels["policy"])).toEqual(["b"]);
    expect((await series(registry, "tcptuning_controller_rollout_progress_ratio")).map((s) => s.labels["policy"])).toEqual(["b"]);
  });

  it("times reconciles by result and counts a failed one as a retry", async () => {
    const registry = componentRegistry("controller", { processMetrics: false });
    const m = new ControllerMetrics(registry);
    expect(await m.observeReconcile("sync", async () => 7)).toBe(7);
    await expect(m.observeReconcile("sync", () => Promise.reject(new Error("conflict")))).rejects.toThrow("conflict");
    const counts = (await series(registry, "tcptuning_controller_reconcile_duration_seconds")).filter((s) => s.labels["le"] === "+Inf");
    expect(counts.map((s) => [s.labels["result"], s.value])).toEqual([
      ["success", 1],
      ["error", 1],
    ]);
    expect((await series(registry, "tcptuning_controller_retries_total"))[0]?.value).toBe(1);
  });
});
