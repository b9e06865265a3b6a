import { describe, expect, it } from "vitest";
import { evaluationStatus, summarizeFindings } from "../../../src/controller/policy-status.js";
import { evaluatePolicy, prepareNode } from "../../../src/rules/index.js";

const now = new Date("2026-01-01T00:00:00Z");
const node = (name: string, kernelVersion: string, labels: Record<string, string> = {}, os = "linux") =>
  prepareNode({ name, labels: { tier: "edge", ...labels }, operatingSystem: os, kernelVersion });
const nodes = [node("old-1", "4.4.0-210-generic", { "tcptuning.io/nat": "inbound" }), node("old-2", "4.9.0-19-amd64"), node("new-1", "6.6.54-flatcar"), node("win", "10.0.17763", {}, "windows")];
const policy = (mode: string, sysctls: { name: string; value: string }[]) => ({
  apiVersion: "tcptuning.io/v1alpha1",
  kind: "TcpTuningPolicy",
  metadata: { name: "p", generation: 3 },
  spec: { nodeSelector: { matchLabels: { tier: "edge" } }, sysctls, mode },
});
const ROLLOUT = { applied: 0, pending: 0, failed: 0 };

describe("summarizeFindings", () => {
  it("groups node findings by rule and sysctl, lists the nodes, and puts denials first", () => {
    // tcp_fin_timeout=30 adds a warning (TT030), so the order of denials and warnings is tested.
    const report = evaluatePolicy(policy("Enforce", [{ name: "net.ipv4.tcp_tw_recycle", value: "1" }, { name: "net.ipv4.tcp_fin_timeout", value: "30" }]), nodes);
    const summary = summarizeFindings(report);
    expect(summary[0]?.severity).toBe("deny");
    const perNode = summary.find((s) => s.rule === "TT010" && s.nodes);
    expect(perNode?.nodes).toEqual(["old-1", "old-2"]);
    expect(perNode?.nodeCount).toBe(2);
    expect(summary.findIndex((s) => s.severity === "warn")).toBeGreaterThan(summary.findLastIndex((s) => s.severity === "deny"));
  });
});

describe("evaluationStatus", () => {
  it("marks a denied Enforce policy as not Accepted and counts the rejected Linux nodes", () => {
    const report = evaluatePolicy(policy("Enforce", [{ name: "net.ipv4.tcp_tw_reuse", value: "2" }]), nodes);
    const s = evaluationStatus(report, "Enforce", 3, undefined, ROLLOUT, now);
    expect(s.conditions.find((c) => c.type === "Accepted")).toMatchObject({ status: "False", reason: "Denied", observedGeneration: 3 });
    expect(s.nodes).toEqual({ matched: 3, rejected: 2, applied: 0, pending: 0, failed: 0 });
  });

  it("accepts a DryRun policy that Enforce would deny and says so, keeping the findings as the audit", () => {
    const report = evaluatePolicy(policy("DryRun", [{ name: "net.ipv4.tcp_tw_reuse", value: "2" }]), nodes);
    const s = evaluationStatus(report, "DryRun", 3, undefined, ROLLOUT, now);
    expect(s.conditions.find((c) => c.type === "Accepted")).toMatchObject({ status: "True", reason: "DryRunWouldBeDenied" });
    expect(s.findings.some((f) => f.rule === "TT013" && f.severity === "deny")).toBe(true);
  });

  it("accepts an allowed policy without denials", () => {
    const report = evaluatePolicy(policy("Enforce", [{ name: "net.ipv4.tcp_keepalive_time", value: "600" }]), nodes);
    const s = evaluationStatus(report, "Enforce", 3, undefined, ROLLOUT, now);
    expect(s.conditions.find((c) => c.type === "Accepted")).toMatchObject({ status: "True", reason: "Validated" });
    expect(s.nodes.rejected).toBe(0);
  });
});
