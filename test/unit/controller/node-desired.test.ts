import { describe, expect, it } from "vitest";
import { desiredForNode, ownWithheld } from "../../../src/controller/node-desired.js";
import { node, policy } from "./fixtures.js";

const FIN = "net.ipv4.tcp_fin_timeout";
const KEEPALIVE = "net.ipv4.tcp_keepalive_time";
const REUSE = "net.ipv4.tcp_tw_reuse";
const TS = "net.ipv4.tcp_timestamps";
const RANGE = "net.ipv4.ip_local_port_range";
const UNPRIV = "net.ipv4.ip_unprivileged_port_start";

const values = (d: ReturnType<typeof desiredForNode>): Record<string, string> => Object.fromEntries(d.sysctls.map((s) => [s.name, `${s.value}@${s.policy}`]));

describe("desiredForNode: priority and conflicts", () => {
  it("gives each key to the highest priority and tells the lower one it was overridden", () => {
    const low = policy("low", { [FIN]: "30", [KEEPALIVE]: "600" }, { priority: 0 });
    const high = policy("high", { [FIN]: "20" }, { priority: 10 });
    const d = desiredForNode(node("n1"), [low, high]);
    expect(values(d)).toEqual({ [FIN]: "20@high", [KEEPALIVE]: "600@low" });
    expect(d.policies.get("low")).toMatchObject({ kind: "active", overridden: [{ sysctl: FIN, by: "high" }], withheld: [] });
    expect(d.policies.get("high")).toMatchObject({ kind: "active", won: [{ name: FIN, value: "20", policy: "high", policyGeneration: 1 }] });
  });

  it("applies neither value when two policies of the same priority disagree, and both say why", () => {
    const a = policy("team-a", { [FIN]: "30", [KEEPALIVE]: "600" });
    const b = policy("team-b", { [FIN]: "20" });
    const d = desiredForNode(node("n1"), [a, b]);
    expect(values(d)).toEqual({ [KEEPALIVE]: "600@team-a" });
    for (const [me, other] of [
      ["team-a", "team-b"],
      ["team-b", "team-a"],
    ] as const) {
      const w = ownWithheld(d.policies.get(me) ?? { kind: "rejected", findings: [] });
      expect(w).toEqual([expect.objectContaining({ sysctl: FIN, reason: "Conflict", policies: [other] })]);
      expect(w[0]?.message).toContain("node n1");
    }
  });

  it("is deterministic: the same inputs in any order give the same desired state", () => {
    const ps = [
      policy("p1", { [FIN]: "30" }, { priority: 5 }),
      policy("p2", { [FIN]: "30", [KEEPALIVE]: "600" }, { priority: 5 }),
      policy("p3", { [KEEPALIVE]: "700" }, { priority: 1 }),
    ];
    const first = desiredForNode(node("n1"), ps);
    const reversed = desiredForNode(node("n1"), [...ps].reverse());
    expect(reversed.sysctls).toEqual(first.sysctls);
    expect([...reversed.policies].sort()).toEqual([...first.policies].sort());
    // Equal values at equal priority agree: the key goes in once, attributed to the older policy.
    expect(values(first)).toEqual({ [FIN]: "30@p1", [KEEPALIVE]: "600@p2" });
    expect(first.policies.get("p2")).toMatchObject({ kind: "active", won: expect.arrayContaining([expect.objectContaining({ name: FIN })]) });
  });

  it("leaves out DryRun policies, policies being deleted, Windows nodes and nodes the selector does not match", () => {
    const dry = policy("dry", { [FIN]: "30" }, { mode: "DryRun" });
    const edge = policy("edge", { [KEEPALIVE]: "600" }, { selector: { tier: "edge" } });
    expect(desiredForNode(node("n1"), [dry, edge]).sysctls).toEqual([]);
    expect(desiredForNode(node("n1", { labels: { tier: "edge" } }), [dry, edge]).sysctls.map((s) => s.name)).toEqual([KEEPALIVE]);
    expect(desiredForNode(node("win", { os: "windows", labels: { tier: "edge" } }), [edge]).policies.size).toBe(0);
    // The DryRun policy is included only when its plan is computed.
    expect(desiredForNode(node("n1"), [dry], "dry").sysctls.map((s) => s.policy)).toEqual(["dry"]);
  });
});

describe("desiredForNode: runtime rejection", () => {
  it("applies nothing of a policy the engine denies on a node that joined with an old kernel, and keeps the other policies", () => {
    const reuse = policy("reuse", { [REUSE]: "2", [FIN]: "30" });
    const keep = policy("keepalive", { [KEEPALIVE]: "600" });
    const old = desiredForNode(node("old", { kernel: "4.4.0-210-generic" }), [reuse, keep]);
    expect(old.policies.get("reuse")).toMatchObject({ kind: "rejected", findings: [expect.objectContaining({ rule: "TT013", severity: "deny" })] });
    expect(values(old)).toEqual({ [KEEPALIVE]: "600@keepalive" });
    expect(values(desiredForNode(node("new"), [reuse, keep]))).toEqual({ [REUSE]: "2@reuse", [FIN]: "30@reuse", [KEEPALIVE]: "600@keepalive" });
  });
});

describe("desiredForNode: the merged set judged again", () => {
  it("withholds the lower-priority key that makes a denied combination, and both policies say why", () => {
    const ts = policy("no-timestamps", { [TS]: "0" }, { priority: 10 });
    const reuse = policy("reuse", { [REUSE]: "1", [FIN]: "30" }, { priority: 0 });
    const d = desiredForNode(node("n1"), [reuse, ts]);
    expect(values(d)).toEqual({ [TS]: "0@no-timestamps", [FIN]: "30@reuse" });
    const mine = ownWithheld(d.policies.get("reuse") ?? { kind: "rejected", findings: [] });
    expect(mine).toEqual([expect.objectContaining({ sysctl: REUSE, reason: "CombinationDenied", policies: ["no-timestamps"] })]);
    expect(mine[0]?.message).toMatch(/TT007/);
    const partner = d.policies.get("no-timestamps");
    expect(partner?.kind === "active" && partner.withheld).toEqual([expect.objectContaining({ sysctl: TS, reason: "CombinationDenied", policies: ["reuse"] })]);
    // The partner's own key is applied: nothing of its own is withheld.
    expect(ownWithheld(partner ?? { kind: "rejected", findings: [] })).toEqual([]);
  });

  it("on a priority tie withholds the newer policy's key", () => {
    const older = policy("older", { [REUSE]: "1" }, { created: "2026-01-01T00:00:00Z" });
    const newer = policy("newer", { [TS]: "0" }, { created: "2026-02-01T00:00:00Z" });
    const d = desiredForNode(node("n1"), [newer, older]);
    expect(values(d)).toEqual({ [REUSE]: "1@older" });
    expect(ownWithheld(d.policies.get("newer") ?? { kind: "rejected", findings: [] }).map((w) => w.sysctl)).toEqual([TS]);
  });

  it("withholds a port range that starts below another policy's ip_unprivileged_port_start", () => {
    const start = policy("start", { [UNPRIV]: "2048" }, { priority: 5 });
    const range = policy("range", { [RANGE]: "1500 65000" });
    const d = desiredForNode(node("n1"), [range, start]);
    expect(values(d)).toEqual({ [UNPRIV]: "2048@start" });
    expect(ownWithheld(d.policies.get("range") ?? { kind: "rejected", findings: [] })).toEqual([
      expect.objectContaining({ sysctl: RANGE, reason: "CombinationDenied", policies: ["start"] }),
    ]);
  });

  it("judges the node with its originals, not with the values this operator set: a policy's own effect is no fact of the node", () => {
    const ts = policy("no-timestamps", { [TS]: "0" }, { priority: 10 });
    const reuse = policy("reuse", { [REUSE]: "1" });
    // The agent applied tcp_timestamps=0 and probes it; its original was 1.
    const status = {
      observedGeneration: 1,
      probe: {
        kernelRelease: "6.1.0-18-amd64",
        probedAt: "2026-01-01T00:00:00Z",
        keys: [
          { name: TS, present: true, value: "0" },
          { name: REUSE, present: true, value: "2" },
        ],
      },
      originals: [{ name: TS, value: "1", recordedAt: "2026-01-01T00:00:00Z" }],
    };
    const d = desiredForNode(node("n1", { state: { sysctls: [{ name: TS, value: "0", policy: "no-timestamps" }], status } }), [ts, reuse]);
    expect(d.policies.get("reuse")?.kind).toBe("active");
    expect(ownWithheld(d.policies.get("reuse") ?? { kind: "rejected", findings: [] }).map((w) => w.reason)).toEqual(["CombinationDenied"]);
    // Without the original, the probe alone would make it a rejection of the whole policy.
    const { originals: _dropped, ...withoutOriginals } = status;
    const misjudged = desiredForNode(node("n1", { state: { status: withoutOriginals } }), [ts, reuse]);
    expect(misjudged.policies.get("reuse")?.kind).toBe("rejected");
  });
});
