import { describe, expect, it } from "vitest";
import { evaluatePolicy, prepareNode } from "../../../src/rules/index.js";
import { DRY_RUN_PREFIX, LIMITS, admissionWarnings, clip, denialMessage, groupFindings, nodeList, warningLine } from "../../../src/webhook/messages.js";

const edgeNodes = (n: number, kernel = "4.19.0-27-amd64") =>
  Array.from({ length: n }, (_, i) =>
    prepareNode({ name: `edge-${String(i).padStart(4, "0")}`, labels: { tier: "edge" }, operatingSystem: "linux", kernelVersion: kernel }),
  );
const doc = (sysctls: { name: string; value: string }[], extra: Record<string, unknown> = {}) => ({
  apiVersion: "tcptuning.io/v1alpha1",
  kind: "TcpTuningPolicy",
  metadata: { name: "p" },
  spec: { sysctls, ...extra },
});

describe("nodeList", () => {
  it.each([
    [[], ""],
    [["a"], "a"],
    [["a", "b"], "a and b"],
    [["a", "b", "c", "d", "e"], "a, b, c, d and e"],
    [["a", "b", "c", "d", "e", "f", "g"], "a, b, c, d, e and 2 more"],
  ])("writes %j as %j", (nodes, text) => {
    expect(nodeList(nodes)).toBe(text);
  });
});

describe("clip", () => {
  it("leaves short text alone and cuts long text at a word with an ellipsis, within the limit", () => {
    expect(clip("short", 10)).toBe("short");
    const cut = clip("the quick brown fox jumps over the lazy dog", 20);
    expect(cut.length).toBeLessThanOrEqual(20);
    expect(cut).toBe("the quick brown fox…");
  });
});

describe("denialMessage", () => {
  it("names five of 2,000 offending nodes and counts the rest, within the length limit", () => {
    const report = evaluatePolicy(doc([{ name: "net.ipv4.tcp_tw_recycle", value: "1" }]), edgeNodes(2000));
    const message = denialMessage(report);
    expect(message.length).toBeLessThanOrEqual(LIMITS.denial);
    expect(message).toContain("TT011 net.ipv4.tcp_tw_recycle on 2000 nodes (edge-0000, edge-0001, edge-0002, edge-0003, edge-0004 and 1995 more)");
    expect(message).not.toContain("edge-0005");
    expect(message).toMatch(/^TcpTuningPolicy "p" is refused: 2 problems on 2000 nodes/);
  });

  it("stays within the limit when many sysctls are wrong, counting the problems it leaves out", () => {
    const bad = Array.from({ length: 60 }, (_, i) => ({ name: `net.ipv4.tcp_made_up_${i}`, value: "1" }));
    const message = denialMessage(evaluatePolicy(doc(bad), edgeNodes(3)));
    expect(message.length).toBeLessThanOrEqual(LIMITS.denial);
    expect(message).toMatch(/- and \d+ more problems\n/);
    expect(message).toContain("net.ipv4.tcp_made_up_0");
  });

  it("lists only deny findings and ends with how to see everything", () => {
    const report = evaluatePolicy(doc([{ name: "net.ipv4.tcp_syn_retries", value: "128" }]), edgeNodes(1));
    const message = denialMessage(report);
    expect(message).not.toContain("TT040");
    expect(message).toMatch(/TT006 net\.ipv4\.tcp_syn_retries: .*1\.\.127/);
    expect(message.split("\n").at(-1)).toMatch(/tcp-tuning check/);
  });
});

describe("warnings", () => {
  it("are one per rule and sysctl however many nodes share them, each short", () => {
    const report = evaluatePolicy(doc([{ name: "net.ipv4.tcp_tw_reuse_delay", value: "500" }]), edgeNodes(500, "6.14.3"));
    const lines = admissionWarnings(report, { dryRun: false });
    expect(lines).toHaveLength(2);
    for (const l of lines) expect(l.length).toBeLessThanOrEqual(LIMITS.warning);
  });

  it("shorten the node list before the summary to fit", () => {
    const [group] = groupFindings(evaluatePolicy(doc([{ name: "net.ipv4.tcp_tw_recycle", value: "1" }]), edgeNodes(40, "4.4.0")));
    expect(group).toBeDefined();
    if (!group) return;
    const line = warningLine(group, DRY_RUN_PREFIX);
    expect(line.length).toBeLessThanOrEqual(LIMITS.warning);
    expect(line).toMatch(/^DryRun, would deny TT010 net\.ipv4\.tcp_tw_recycle on edge-0000 \+39: tcp_tw_recycle=1 drops/);
  });

  it("are bounded in number, the last one saying how many were left out", () => {
    const many = Array.from({ length: 30 }, (_, i) => ({ name: `net.ipv4.tcp_nope_${i}`, value: "1" }));
    const lines = admissionWarnings(evaluatePolicy(doc(many, { mode: "DryRun" }), []), { dryRun: true });
    expect(lines).toHaveLength(LIMITS.warnings);
    expect(lines.at(-1)).toMatch(/^\d+ more findings/);
  });
});
