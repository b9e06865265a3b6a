import { describe, expect, it } from "vitest";
import { expandClassReport } from "../../../src/rules/index.js";
import { admit, nodeListSnapshot, parseReview, review, type NodeSnapshot } from "../../../src/webhook/admission.js";
import { DRY_RUN_PREFIX, LIMITS } from "../../../src/webhook/messages.js";
import { fleetExpected, fleetNodes, fleetPolicies } from "./support/fleet.js";
import { linuxNode, policy, policyReview, preparedNodes } from "./support/reviews.js";

const fleet: NodeSnapshot = nodeListSnapshot(preparedNodes(fleetNodes()));
const expected = fleetExpected();

function judge(body: unknown, snapshot: NodeSnapshot = fleet) {
  const parsed = parseReview(body);
  if (!parsed.ok) throw new Error(parsed.reason);
  return admit(parsed.request, snapshot);
}

describe("admission of the sample fleet's policies", () => {
  it.each(fleetPolicies().map((p) => [p.name, p] as const))("gives %s the verdict expected.json gives it", (name, p) => {
    const want = expected[name];
    expect(want).toBeDefined();
    const { review: res } = judge(policyReview(p.doc));
    expect(res.response.allowed).toBe(want?.verdict === "allowed");
    if (want?.verdict === "denied") {
      const message = res.response.status?.message ?? "";
      expect(res.response.status?.code).toBe(403);
      expect(message.length).toBeLessThanOrEqual(LIMITS.denial);
      const sysctls = (p.doc["spec"] as { sysctls: { name: string }[] }).sysctls.map((s) => s.name);
      expect(sysctls.some((s) => message.includes(s))).toBe(true);
      for (const [node, verdict] of Object.entries(want.nodes)) {
        if (verdict === "denied") expect(message).toContain(node);
      }
      for (const [node, verdict] of Object.entries(want.nodes)) {
        if (verdict === "allowed") expect(message).not.toMatch(new RegExp(`\\b${node}\\b`));
      }
    }
  });

  it("refuses edge-recycle naming each offending node and the sysctl, grouped by rule", () => {
    const edge = fleetPolicies().find((p) => p.name === "edge-recycle");
    const message = judge(policyReview(edge?.doc)).review.response.status?.message ?? "";
    expect(message).toMatch(/TT010 net\.ipv4\.tcp_tw_recycle on 2 nodes \(edge-a and edge-b\)/);
    expect(message).toMatch(/TT011 net\.ipv4\.tcp_tw_recycle on node edge-c/);
    expect(message).toMatch(/Remove net\.ipv4\.tcp_tw_recycle or set it to 0; to cope with TIME_WAIT, use net\.ipv4\.tcp_tw_reuse=1 on the connecting side/);
  });

  it("turns warn findings of an allowed policy into one short warning per rule and sysctl", () => {
    const keepalive = fleetPolicies().find((p) => p.name === "keepalive");
    const res = judge(policyReview(keepalive?.doc));
    expect(res.review.response.allowed).toBe(true);
    const report = res.report && expandClassReport(res.report);
    const findings = [...(report?.findings ?? []), ...(report?.nodes.flatMap((n) => n.findings) ?? [])].filter((f) => f.severity === "warn");
    const kinds = new Set(findings.map((f) => `${f.rule} ${f.sysctl ?? "(policy)"}`));
    expect(kinds.size).toBeGreaterThan(0);
    const warnings = res.review.response.warnings ?? [];
    // A node finding's warning names its nodes after the sysctl ("TT042 net.ipv4.tcp_keepalive_time on app-a +1: ...").
    expect(warnings.map((w) => w.slice(0, w.indexOf(":")).replace(/ on \S+( \+\d+)?$/, ""))).toEqual([...kinds].sort());
    for (const w of warnings) {
      expect(w.length).toBeLessThanOrEqual(LIMITS.warning);
      expect(w).not.toMatch(/^Warning/);
    }
  });
});

describe("admission decisions", () => {
  const recycle = policy("recycle", [{ name: "net.ipv4.tcp_tw_recycle", value: "1" }], { nodeSelector: { matchLabels: { tier: "edge" } } });

  it("echoes the request uid in every response", () => {
    const uid = "d595a7e9-8b7f-4a57-9d6f-6cbd0d8e5e1a";
    for (const doc of [recycle, policy("ok", [{ name: "net.ipv4.tcp_keepalive_time", value: "300" }])]) {
      expect(judge(policyReview(doc, { uid })).review.response.uid).toBe(uid);
    }
    expect(judge(policyReview({}, { uid, kind: "ConfigMap", resource: "configmaps" })).review.response.uid).toBe(uid);
  });

  it("admits a DryRun policy that Enforce would refuse, with its denials as warnings", () => {
    const res = judge(policyReview({ ...recycle, spec: { ...recycle.spec, mode: "DryRun" } }));
    expect(res.outcome).toBe("dry-run");
    expect(res.review.response.allowed).toBe(true);
    expect(res.review.response.status).toBeUndefined();
    const wouldDeny = (res.review.response.warnings ?? []).filter((w) => w.startsWith(DRY_RUN_PREFIX));
    expect(wouldDeny.map((w) => w.slice(DRY_RUN_PREFIX.length).split(" ")[0])).toEqual(["TT010", "TT011"]);
    expect(wouldDeny.some((w) => /edge-a/.test(w))).toBe(true);
    for (const w of res.review.response.warnings ?? []) expect(w.length).toBeLessThanOrEqual(LIMITS.warning);
  });

  it.each([
    ["a kind that is not ours", { kind: "ConfigMap", resource: "configmaps" }, "not-a-policy"],
    ["the status subresource", { subResource: "status" }, "not-a-policy"],
    ["a DELETE", { operation: "DELETE" }, "operation-ignored"],
    ["a CONNECT", { operation: "CONNECT" }, "operation-ignored"],
  ] as const)("allows %s without judging it", (_what, options, outcome) => {
    const res = judge(policyReview(recycle, options));
    expect(res.outcome).toBe(outcome);
    expect(res.review.response).toEqual({ uid: expect.any(String), allowed: true });
  });

  it("allows an UPDATE that leaves spec unchanged, so a policy the fleet outgrew can still be labelled", () => {
    const labelled = { ...recycle, metadata: { name: "recycle", labels: { team: "edge" } } };
    const res = judge(policyReview(labelled, { operation: "UPDATE", oldObject: recycle }));
    expect(res.outcome).toBe("unchanged-spec");
    expect(res.review.response.allowed).toBe(true);
  });

  it("judges an UPDATE that changes spec", () => {
    const before = policy("recycle", [{ name: "net.ipv4.tcp_keepalive_time", value: "300" }], { nodeSelector: { matchLabels: { tier: "edge" } } });
    expect(judge(policyReview(recycle, { operation: "UPDATE", oldObject: before })).review.response.allowed).toBe(false);
  });

  it("allows the UPDATE that finishes a deletion (finalizer removal) of a policy the fleet outgrew", () => {
    const held = { ...recycle, metadata: { name: "recycle", deletionTimestamp: "2026-01-01T00:00:00Z", finalizers: ["tcptuning.io/cleanup"] } };
    const released = { ...recycle, metadata: { name: "recycle", deletionTimestamp: "2026-01-01T00:00:00Z" } };
    const res = judge(policyReview(released, { operation: "UPDATE", oldObject: held }));
    expect(res.outcome).toBe("unchanged-spec");
    expect(res.review.response.allowed).toBe(true);
  });

  it("judges a spec change on a policy being deleted: a deletionTimestamp is no pass", () => {
    const before = policy("recycle", [{ name: "net.ipv4.tcp_keepalive_time", value: "300" }], { nodeSelector: { matchLabels: { tier: "edge" } } });
    const deleting = { ...recycle, metadata: { name: "recycle", deletionTimestamp: "2026-01-01T00:00:00Z", finalizers: ["tcptuning.io/cleanup"] } };
    const res = judge(policyReview(deleting, { operation: "UPDATE", oldObject: { ...before, metadata: deleting.metadata } }));
    expect(res.outcome).toBe("denied");
    expect(res.review.response.allowed).toBe(false);
  });

  it("refuses with 503 and a reason while the node cache has not synced", () => {
    const res = judge(policyReview(recycle), nodeListSnapshot([], false));
    expect(res.review.response.allowed).toBe(false);
    expect(res.review.response.status?.code).toBe(503);
    expect(res.review.response.status?.message).toMatch(/retry/);
  });

  it("refuses a CREATE without an object with 400", () => {
    const body = policyReview(undefined);
    const res = judge(body);
    expect(res.review.response.status?.code).toBe(400);
  });

  it("lets what the agent probed on a node beat its kernel version string", () => {
    const nodes = [linuxNode("old-but-backported", "5.4.0-200-generic", { tier: "app" })];
    const delay = policy("delay", [{ name: "net.ipv4.tcp_tw_reuse_delay", value: "1000" }]);
    expect(judge(policyReview(delay), nodeListSnapshot(preparedNodes(nodes))).review.response.allowed).toBe(false);
    const probe = {
      kernelRelease: "5.4.0-200-generic",
      probedAt: "2026-01-01T00:00:00Z",
      keys: [{ name: "net.ipv4.tcp_tw_reuse_delay", present: true, value: "1000" }],
    };
    const probed = preparedNodes(nodes, new Map([["old-but-backported", probe]]));
    expect(judge(policyReview(delay), nodeListSnapshot(probed)).review.response.allowed).toBe(true);
  });

  it("judges against the nodes in the snapshot: a policy allowed on new kernels is refused once an old node joins", () => {
    const delay = policy("delay", [{ name: "net.ipv4.tcp_tw_reuse_delay", value: "1000" }]);
    const young = [linuxNode("n1", "6.14.3-300.fc42.x86_64")];
    expect(judge(policyReview(delay), nodeListSnapshot(preparedNodes(young))).review.response.allowed).toBe(true);
    const res = judge(policyReview(delay), nodeListSnapshot(preparedNodes([...young, linuxNode("n2", "6.6.54-flatcar")])));
    expect(res.review.response.status?.message).toMatch(/on node n2/);
  });
});

describe("parseReview", () => {
  it.each([
    ["a missing uid", { apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", request: { ...policyReview({}).request, uid: undefined } }, /request\.uid/],
    ["an empty uid", { apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", request: { ...policyReview({}).request, uid: "" } }, /request\.uid/],
    ["a v1beta1 review", { ...policyReview({}), apiVersion: "admission.k8s.io/v1beta1" }, /apiVersion/],
    ["no request at all", { apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview" }, /request/],
    ["an array", [], /AdmissionReview/],
    ["null", null, /AdmissionReview/],
  ])("rejects %s with a reason", (_what, body, reason) => {
    const res = review(body, fleet);
    expect("error" in res ? res.error : "").toMatch(reason);
  });
});
