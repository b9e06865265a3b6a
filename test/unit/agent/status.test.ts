import { describe, expect, it } from "vitest";
import { nodeStateStatusSchema, type KeyResult } from "../../../src/api/v1alpha1/node-state.js";
import { agentConditions, agentStatus, type AgentView } from "../../../src/agent/status.js";

const NOW = new Date("2026-01-01T00:00:00Z");

function view(keys: KeyResult[], extra: Partial<AgentView> = {}): AgentView {
  return {
    generation: 4,
    desiredCount: keys.length,
    keys,
    originals: [],
    applied: keys.every((k) => k.result === "Applied" || k.result === "Skipped"),
    drift: { count: 0 },
    lastDrifted: [],
    ...extra,
  };
}

function summary(v: AgentView): Record<string, string> {
  return Object.fromEntries(agentConditions(undefined, v, NOW).map((c) => [c.type, `${c.status}/${c.reason}`]));
}

describe("the agent's status conditions", () => {
  it.each([
    ["every key applied", view([{ name: "a", result: "Applied" }]), { Applied: "True/AllKeysApplied", Degraded: "False/AsDesired", Drifted: "False/NoDrift" }],
    ["nothing desired", view([]), { Applied: "True/NothingDesired", Degraded: "False/AsDesired", Drifted: "False/NoDrift" }],
    [
      "a refused key",
      view([
        { name: "kernel.core_pattern", result: "Refused" },
        { name: "b", result: "Pending" },
      ]),
      { Applied: "False/Refused", Degraded: "True/Refused", Drifted: "False/NoDrift" },
    ],
    [
      "a failed key rolled back",
      view([
        { name: "a", result: "RolledBack" },
        { name: "b", result: "Failed" },
      ]),
      { Applied: "False/ApplyFailed", Degraded: "True/ApplyFailed", Drifted: "False/NoDrift" },
    ],
    [
      "a restore that failed",
      view([{ name: "a", result: "RestoreFailed" }], { desiredCount: 0, applied: true }),
      { Applied: "True/NothingDesired", Degraded: "True/RestoreFailed", Drifted: "False/NoDrift" },
    ],
    [
      "drift corrected",
      view([{ name: "a", result: "Applied" }], { lastDrifted: ["a"] }),
      { Applied: "True/AllKeysApplied", Degraded: "False/AsDesired", Drifted: "True/DriftCorrected" },
    ],
  ])("%s", (_what, v, expected) => {
    expect(summary(v)).toEqual(expected);
  });

  it("stamps every condition with the generation it describes and keeps lastTransitionTime while the status holds", () => {
    const first = agentConditions(undefined, view([{ name: "a", result: "Applied" }]), NOW);
    expect(first.every((c) => c.observedGeneration === 4)).toBe(true);
    const later = agentConditions(first, view([{ name: "a", result: "Applied" }], { generation: 5 }), new Date("2026-01-02T00:00:00Z"));
    expect(later.find((c) => c.type === "Applied")).toMatchObject({ observedGeneration: 5, lastTransitionTime: "2026-01-01T00:00:00Z" });
  });

  it("stays within the API's limits when a blocked generation lists many keys, so the status is not refused whole", () => {
    const names = Array.from({ length: 200 }, (_, i) => `net.ipv4.conf.eth${i}.some_long_unlisted_key_name_${i}`);
    const keys: KeyResult[] = names.map((name) => ({ name, result: "Refused", message: "not in the sysctl catalog's allowlist" }));
    const pending: KeyResult = {
      name: "net.ipv4.ip_local_reserved_ports",
      desired: "8080",
      actual: Array.from({ length: 100 }, (_, i) => 40000 + 2 * i).join(","),
      result: "Pending",
      message: `not applied: this generation is refused as a whole because of ${names.join(", ")}`,
    };
    const status = agentStatus(undefined, view([...keys, pending]), NOW);
    expect(nodeStateStatusSchema.safeParse(status).success).toBe(true);
    const reported = status.keys?.find((k) => k.name === pending.name);
    expect(reported?.actual).toBeUndefined();
    expect(reported?.message?.length).toBe(1024);
    expect(reported?.message?.startsWith("not applied: this generation is refused as a whole because of net.ipv4.conf.eth0.")).toBe(true);
  });
});
