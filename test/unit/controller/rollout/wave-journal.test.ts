import { describe, expect, it } from "vitest";
import type { DesiredSysctl } from "../../../../src/api/v1alpha1/node-state.js";
import type { RolloutStatus } from "../../../../src/api/v1alpha1/rollout-status.js";
import { releaseRecorded } from "../../../../src/controller/rollout/wave-journal.js";

const FIN = "net.ipv4.tcp_fin_timeout";
const entry = (policy: string, value: string, policyGeneration = 1): DesiredSysctl => ({ name: FIN, value, policy, policyGeneration });

function rollout(wave: number, waveNodes: string[], extra: Partial<RolloutStatus> = {}): RolloutStatus {
  return { generation: 1, action: "Apply", wave, waves: 4, waveNodes, nodes: { total: 6, done: 0, inFlight: 0, waiting: 0, failed: 0 }, ...extra };
}

const may = (current: DesiredSysctl[] | undefined, next: DesiredSysctl[], planned?: RolloutStatus, recorded?: RolloutStatus) =>
  releaseRecorded({ node: "n1", current, next, planned: (p) => (p === "p" ? planned : undefined), recorded: (p) => (p === "p" ? recorded : undefined) });

describe("write-ahead for waves: a node state change that puts a node into a wave", () => {
  it.each([
    ["waits while the status in the cluster still describes the previous wave", rollout(2, ["n0"]), false],
    ["waits while no status is recorded at all", undefined, false],
    ["waits while the recorded wave has the same number but another generation", rollout(3, ["n1", "n2"], { generation: 0 }), false],
    ["waits while the recorded wave is the same rollout's removal", rollout(3, ["n1", "n2"], { action: "Remove" }), false],
    ["goes once the status naming it in that wave is recorded", rollout(3, ["n1", "n2"]), true],
  ] as const)("%s", (_, recorded, expected) => {
    expect(may([], [entry("p", "30")], rollout(3, ["n1", "n2"]), recorded)).toBe(expected);
  });

  it("applies to a removal too: the policy's keys leave a node only once its removal wave is recorded", () => {
    const removal = rollout(1, ["n1"], { action: "Remove" });
    expect(may([entry("p", "30")], [], removal, rollout(11, ["n9"]))).toBe(false);
    expect(may([entry("p", "30")], [], removal, removal)).toBe(true);
  });

  it("does not hold a change that is no wave's: no rollout status, a node the wave does not name, another policy's entries", () => {
    expect(may([], [entry("q", "30")], undefined, undefined)).toBe(true);
    expect(may([], [entry("p", "30")], rollout(3, ["n7"]), rollout(2, ["n0"]))).toBe(true);
    // p's entries on the node stay as they are: its wave is not this write's business.
    expect(may([entry("p", "30")], [entry("p", "30"), { ...entry("q", "1"), name: "net.core.somaxconn" }], rollout(3, ["n1"]), rollout(2, ["n0"]))).toBe(true);
  });
});
