import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  catalogNames,
  classifyNodes,
  evaluateByClass,
  evaluatePrepared,
  expandClassReport,
  groupFindingKinds,
  nodeClassKey,
  preparePolicy,
  prepareNode,
  type NodeInput,
} from "../../../src/rules/index.js";
import { labelKeyArb, labelValueArb, nodeArb, policyArb, valueArb } from "./arbitraries.js";

/** Policies that mostly parse: real keys with good and bad values, and selectors on the fleet's labels. */
const realisticPolicyArb = fc.record({
  apiVersion: fc.constant("tcptuning.io/v1alpha1"),
  kind: fc.constant("TcpTuningPolicy"),
  metadata: fc.record({ name: fc.string({ minLength: 1 }) }),
  spec: fc.record(
    {
      nodeSelector: fc.record(
        {
          matchLabels: fc.dictionary(fc.constantFrom("tier", "zone"), fc.constantFrom("edge", "app", "a", "b"), { maxKeys: 1 }),
          matchExpressions: fc.array(
            fc.record({
              key: fc.constantFrom("tier", "zone", "tcptuning.io/nat", "gone"),
              operator: fc.constantFrom("In", "NotIn", "Exists", "DoesNotExist"),
              values: fc.array(fc.constantFrom("edge", "app", "a", "b", "inbound"), { maxLength: 2 }),
            }),
            { maxLength: 2 },
          ),
        },
        { requiredKeys: [] },
      ),
      sysctls: fc.array(
        fc.record({
          name: fc.constantFrom(...catalogNames()),
          value: fc.oneof(fc.constantFrom("0", "1", "2", "1000", "4096", "65535", "1024 65000", "500 600", "99999999"), valueArb),
        }),
        { minLength: 1, maxLength: 6 },
      ),
      mode: fc.constantFrom("Enforce", "DryRun"),
    },
    { requiredKeys: ["sysctls"] },
  ),
});

/**
 * Fleets with many nodes per class, as real ones have: a few node facts shared by nodes of arbitrary
 * names (empty-looking, "$&", duplicates) and labels that differ beyond the placement ones.
 */
const fleetArb = fc
  .tuple(
    fc.array(nodeArb, { minLength: 1, maxLength: 5 }),
    fc.array(
      fc.record({
        fact: fc.nat(),
        name: fc.oneof(fc.string({ minLength: 1 }), fc.constantFrom("$&", "$1", "node-a", "node-a")),
        extra: fc.dictionary(fc.oneof(labelKeyArb, fc.constantFrom("tier", "zone")), fc.oneof(labelValueArb, fc.constantFrom("edge", "app", "a", "b"))),
      }),
      { maxLength: 40 },
    ),
  )
  .map(([facts, members]): NodeInput[] =>
    members.map(({ fact, name, extra }) => {
      const base = facts[fact % facts.length] as NodeInput;
      return { ...base, name, labels: { ...extra, ...base.labels } };
    }),
  );

const anyPolicyArb = fc.oneof({ weight: 3, arbitrary: realisticPolicyArb }, { weight: 1, arbitrary: policyArb });

describe("judging classes of equal nodes once", () => {
  it("gives exactly the per-node report, finding for finding and in the same order", () => {
    fc.assert(
      fc.property(anyPolicyArb, fleetArb, fc.constantFrom({}, { nat: "none" as const }), (doc, inputs, defaults) => {
        const nodes = inputs.map((n) => prepareNode(n, defaults));
        const policy = preparePolicy(doc);
        const perNode = evaluatePrepared(policy, nodes);
        const byClass = expandClassReport(evaluateByClass(policy, classifyNodes(nodes)));
        expect(byClass).toEqual(perNode);
        // Byte for byte: the CLI prints these as JSON.
        expect(JSON.stringify(byClass)).toBe(JSON.stringify(perNode));
      }),
      { numRuns: 500 },
    );
  });

  it("gives the same policy-level verdict without nodes", () => {
    fc.assert(
      fc.property(anyPolicyArb, (doc) => {
        const policy = preparePolicy(doc);
        expect(expandClassReport(evaluateByClass(policy))).toEqual(evaluatePrepared(policy));
      }),
      { numRuns: 200 },
    );
  });

  it("groups the same findings for messages as the per-node report (nodes named class by class)", () => {
    fc.assert(
      fc.property(realisticPolicyArb, fleetArb, (doc, inputs) => {
        const nodes = inputs.map((n) => prepareNode(n));
        const policy = preparePolicy(doc);
        const perNode = groupFindingKinds(evaluatePrepared(policy, nodes));
        const byClass = groupFindingKinds(evaluateByClass(policy, classifyNodes(nodes)));
        expect(byClass.map((k) => [k.first.rule, k.first.severity, k.first.sysctl, [...k.nodes].sort()])).toEqual(
          perNode.map((k) => [k.first.rule, k.first.severity, k.first.sysctl, [...k.nodes].sort()]),
        );
      }),
      { numRuns: 300 },
    );
  });

  it("puts nodes that differ only in name and non-placement labels in one class, and a different kernel or probe in another", () => {
    const base = { labels: { "tcptuning.io/nat": "none" }, kernelVersion: "5.15.0-1057-aws" };
    const a = prepareNode({ ...base, name: "a", labels: { ...base.labels, zone: "a" } });
    const b = prepareNode({ ...base, name: "b", labels: { ...base.labels, zone: "b" } });
    const newer = prepareNode({ ...base, name: "c", kernelVersion: "6.6.54-flatcar" });
    const probed = prepareNode({
      ...base,
      name: "d",
      probe: { kernelRelease: "5.15.0-1057-aws", probedAt: "2026-01-01T00:00:00Z", keys: [{ name: "net.ipv4.tcp_tw_reuse", present: true, value: "2" }] },
    });
    const natted = prepareNode({ ...base, name: "e", labels: { "tcptuning.io/nat": "inbound" } });
    expect(nodeClassKey(a)).toBe(nodeClassKey(b));
    for (const other of [newer, probed, natted]) expect(nodeClassKey(other)).not.toBe(nodeClassKey(a));
    expect(classifyNodes([a, b, newer, probed, natted]).classes).toHaveLength(4);
  });

  it("tells a probed key without a value from a missing one", () => {
    const probe = (value: string | undefined, present: boolean) => ({
      kernelRelease: "6.1.0",
      probedAt: "2026-01-01T00:00:00Z",
      keys: [value === undefined ? { name: "k", present } : { name: "k", present, value }],
    });
    const unknown = prepareNode({ name: "a", labels: {}, probe: probe(undefined, true) });
    const missing = prepareNode({ name: "b", labels: {}, probe: probe(undefined, false) });
    expect(nodeClassKey(unknown)).not.toBe(nodeClassKey(missing));
  });

  it("judges 5,000 nodes of 3 kinds as 3 classes", () => {
    const kernels = ["4.4.0-210-generic", "5.15.0-1057-aws", "6.6.54-flatcar"];
    const nodes = Array.from({ length: 5000 }, (_, i) =>
      prepareNode({ name: `n${i}`, labels: { "kubernetes.io/hostname": `n${i}` }, kernelVersion: kernels[i % 3] }),
    );
    const report = evaluateByClass(
      preparePolicy({ metadata: { name: "p" }, spec: { sysctls: [{ name: "net.ipv4.tcp_tw_recycle", value: "1" }] } }),
      classifyNodes(nodes),
    );
    expect(report.classes).toHaveLength(3);
    expect(report.classes.reduce((s, c) => s + c.nodes.length, 0)).toBe(5000);
  });
});
