import { describe, expect, it } from "vitest";
import type { DesiredSysctl, KeyResult, NodeState } from "../../../../src/api/v1alpha1/node-state.js";
import { nodeRolloutView, policyEntriesEqual } from "../../../../src/controller/rollout/node-rollout-view.js";

const FIN: DesiredSysctl = { name: "net.ipv4.tcp_fin_timeout", value: "30", policy: "p", policyGeneration: 2 };
const OTHER: DesiredSysctl = { name: "net.core.somaxconn", value: "8192", policy: "q", policyGeneration: 1 };

function state(
  sysctls: DesiredSysctl[],
  generation: number,
  observed: number | undefined,
  keys: KeyResult[] = [],
  applied?: { status: "True" | "False"; reason: string; message: string },
): NodeState {
  return {
    apiVersion: "tcptuning.io/v1alpha1",
    kind: "TcpTuningNodeState",
    metadata: { name: "n1", generation },
    spec: { nodeName: "n1", sysctls },
    ...(observed !== undefined
      ? { status: { observedGeneration: observed, keys, ...(applied ? { conditions: [{ type: "Applied", ...applied, lastTransitionTime: "t" }] } : {}) } }
      : {}),
  };
}

describe("where a node stands in a policy's rollout", () => {
  it.each([
    [
      "not released yet (an older generation of the policy in its spec)",
      state([{ ...FIN, policyGeneration: 1 }, OTHER], 4, 4, [{ name: FIN.name, result: "Applied" }]),
      [FIN],
      { atTarget: false, progress: "inFlight" },
    ],
    ["released, the agent has not observed it", state([FIN, OTHER], 5, 4), [FIN], { atTarget: true, progress: "inFlight" }],
    [
      "released and applied",
      state([FIN, OTHER], 5, 5, [
        { name: FIN.name, result: "Applied" },
        { name: OTHER.name, result: "Applied" },
      ]),
      [FIN],
      { atTarget: true, progress: "done" },
    ],
    ["released and skipped on this kernel", state([FIN], 5, 5, [{ name: FIN.name, result: "Skipped" }]), [FIN], { atTarget: true, progress: "done" }],
    [
      "released and failed",
      state([FIN], 5, 5, [{ name: FIN.name, result: "Failed", message: "EINVAL" }]),
      [FIN],
      { atTarget: true, progress: "failed", message: "net.ipv4.tcp_fin_timeout Failed: EINVAL" },
    ],
    [
      "released, rolled back because another key failed",
      state([FIN, OTHER], 5, 5, [
        { name: FIN.name, result: "RolledBack" },
        { name: OTHER.name, result: "Failed" },
      ]),
      [FIN],
      { atTarget: true, progress: "failed", message: "net.ipv4.tcp_fin_timeout RolledBack" },
    ],
    [
      "the whole pass failed (state file unreadable)",
      state([FIN], 5, 5, [], { status: "False", reason: "StateFileUnreadable", message: "nothing was applied" }),
      [FIN],
      { atTarget: true, progress: "failed", message: "StateFileUnreadable: nothing was applied" },
    ],
    [
      "removed and restored",
      state([OTHER], 6, 6, [
        { name: FIN.name, result: "Restored" },
        { name: OTHER.name, result: "Applied" },
      ]),
      [],
      { atTarget: true, progress: "done" },
    ],
    [
      "removed but the restore failed",
      state([OTHER], 6, 6, [{ name: FIN.name, result: "RestoreFailed", message: "EPERM" }]),
      [],
      { atTarget: true, progress: "failed", message: "net.ipv4.tcp_fin_timeout RestoreFailed: EPERM" },
    ],
    ["removal not released yet", state([FIN, OTHER], 5, 5), [], { atTarget: false, progress: "inFlight" }],
  ] as const)("%s", (_what, s, target, expected) => {
    expect(nodeRolloutView(s, "p", target)).toEqual(expected);
  });

  it("has no node state at all: not at target unless the target is empty", () => {
    expect(nodeRolloutView(undefined, "p", [FIN])).toEqual({ atTarget: false, progress: "inFlight" });
    expect(nodeRolloutView(undefined, "p", []).atTarget).toBe(true);
  });

  it("compares only the policy's own entries, by name, value and policy generation", () => {
    expect(policyEntriesEqual([FIN, OTHER], "p", [FIN])).toBe(true);
    expect(policyEntriesEqual([FIN, OTHER], "p", [{ ...FIN, value: "31" }])).toBe(false);
    expect(policyEntriesEqual([OTHER], "q", [OTHER])).toBe(true);
    expect(policyEntriesEqual([], "p", [])).toBe(true);
  });
});
