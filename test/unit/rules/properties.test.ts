import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { nodeRulesFor } from "../../../src/rules/engine.js";
import { catalogNames, CATALOG, checkOnNode, evaluatePolicy, parseValue, preparePolicy, prepareNode, RULES, selects, type NodeInput, type PolicyReport, type Rule } from "../../../src/rules/index.js";
import { allFindings } from "./support.js";

const RULE_IDS = new Set(RULES.map((r) => r.id));

/** Strings a user or an attacker might put anywhere: real keys, near misses, paths, prototype names, noise. */
const nameArb = fc.oneof(
  fc.constantFrom(...catalogNames()),
  fc.constantFrom("net.ipv4.tcp_fin_timout", "vm.swappiness", "net/ipv4/tcp_tw_reuse", "net.ipv4..x", "net.ipv4.*", "__proto__", "constructor", "", " "),
  fc.string().map((s) => `net.ipv4.${s}`),
  fc.string(),
);
const valueArb = fc.oneof(
  fc.integer({ min: -70000, max: 70000 }).map(String),
  fc.tuple(fc.integer({ min: -1, max: 70000 }), fc.integer({ min: -1, max: 70000 })).map(([a, b]) => `${a}${"\t "[a & 1]}${b}`),
  fc.tuple(fc.nat(), fc.nat(), fc.nat()).map(([a, b, c]) => `${a} ${b} ${c}`),
  fc.array(fc.integer({ min: 0, max: 70000 }), { maxLength: 4 }).map((a) => a.join(",")),
  fc.constantFrom("010", "08", "-0", "0x10", "1e3", "99999999999999999999999", "", "  "),
  fc.string(),
);
const labelKeyArb = fc.oneof(fc.constantFrom("tier", "tcptuning.io/nat", "tcptuning.io/load-balancer", "tcptuning.io/tcp-timestamps", "kubernetes.io/os", "constructor", "__proto__", "toString"), fc.string());
const labelValueArb = fc.oneof(fc.constantFrom("edge", "app", "none", "inbound", "outbound", "both", "snat", "dsr", "stripped", "preserved", "linux", "windows", ""), fc.string());
const labelsArb = fc.dictionary(labelKeyArb, labelValueArb, { maxKeys: 5 });
const kernelArb = fc.oneof(
  fc.constantFrom("5.15.0-1057-aws", "4.18.0-553.el8_10.x86_64", "6.1.100+", "6.6.43-talos", "6.12.0-rc3", "3.10.0-1160.119.1.el7.x86_64", "4.4.0-210-generic", "4.11.12-200.fc25.x86_64", "6.14.3", "10.0.17763.6414"),
  fc.tuple(fc.nat(12), fc.nat(40), fc.nat(300), fc.string()).map(([a, b, c, s]) => `${a}.${b}.${c}${s}`),
  fc.string(),
);

const selectorArb = fc.oneof(
  fc.anything(),
  fc.record(
    {
      matchLabels: fc.oneof(labelsArb, fc.anything()),
      matchExpressions: fc.array(
        fc.record({ key: labelKeyArb, operator: fc.oneof(fc.constantFrom("In", "NotIn", "Exists", "DoesNotExist"), fc.string()), values: fc.oneof(fc.array(labelValueArb, { maxLength: 3 }), fc.anything()) }, { requiredKeys: ["key", "operator"] }),
        { maxLength: 3 },
      ),
    },
    { requiredKeys: [] },
  ),
);

const entryArb = fc.oneof({ weight: 8, arbitrary: fc.record({ name: nameArb, value: valueArb }) }, { weight: 1, arbitrary: fc.anything() }, { weight: 1, arbitrary: fc.record({ name: fc.anything(), value: fc.anything() }) });

/** Documents shaped like a TcpTuningPolicy, most of the way or not at all. */
const policyArb = fc.oneof(
  { weight: 1, arbitrary: fc.anything() },
  {
    weight: 9,
    arbitrary: fc.record(
      {
        apiVersion: fc.constantFrom("tcptuning.io/v1alpha1", "v1"),
        kind: fc.constantFrom("TcpTuningPolicy", "Node"),
        metadata: fc.oneof(fc.record({ name: fc.string() }), fc.anything()),
        spec: fc.oneof(
          { weight: 9, arbitrary: fc.record({ nodeSelector: selectorArb, sysctls: fc.array(entryArb, { maxLength: 6 }), priority: fc.oneof(fc.integer(), fc.anything()), mode: fc.oneof(fc.constantFrom("Enforce", "DryRun"), fc.string()) }, { requiredKeys: ["sysctls"] }) },
          { weight: 1, arbitrary: fc.anything() },
        ),
      },
      { requiredKeys: ["metadata", "spec"] },
    ),
  },
);

const nodeArb: fc.Arbitrary<NodeInput> = fc.record(
  {
    name: fc.string({ minLength: 1 }),
    labels: labelsArb,
    operatingSystem: fc.constantFrom("linux", "windows", "Linux", ""),
    kernelVersion: kernelArb,
    probe: fc.record({
      kernelRelease: fc.oneof(kernelArb, fc.constant("")),
      probedAt: fc.constant("2026-01-01T00:00:00Z"),
      keys: fc.array(fc.record({ name: fc.oneof(fc.constantFrom(...catalogNames()), fc.string()), present: fc.boolean(), value: valueArb }, { requiredKeys: ["name", "present"] }), { maxLength: 4 }),
    }),
  },
  { requiredKeys: ["name", "labels"] },
);
const nodesArb = fc.array(nodeArb, { maxLength: 6 });

function judge(doc: unknown, inputs: readonly NodeInput[]): PolicyReport {
  return evaluatePolicy(doc, inputs.map((n) => prepareNode(n)));
}

describe("the engine on arbitrary input", () => {
  it("never throws on policy-shaped documents, arbitrary labels and kernel strings", () => {
    fc.assert(
      fc.property(policyArb, nodesArb, (doc, nodes) => {
        judge(doc, nodes);
        evaluatePolicy(doc);
      }),
      { numRuns: 400 },
    );
  });

  it("names a rule, a sysctl and a message in every deny finding (a schema denial names its field instead)", () => {
    fc.assert(
      fc.property(policyArb, nodesArb, (doc, nodes) => {
        for (const f of allFindings(judge(doc, nodes))) {
          expect(RULE_IDS.has(f.rule)).toBe(true);
          expect(f.message.trim()).not.toBe("");
          expect(f.reference.trim()).not.toBe("");
          if (f.severity !== "deny") continue;
          if (f.rule === "TT001" && f.sysctl === undefined) expect(f.message).toMatch(/spec/);
          else expect(f.sysctl, `${f.rule}: ${f.message}`).toBeTypeOf("string");
        }
      }),
      { numRuns: 300 },
    );
  });

  it("points each finding's index at the entry it names", () => {
    fc.assert(
      fc.property(policyArb, nodesArb, (doc, nodes) => {
        const sysctls = (doc as { spec?: { sysctls?: unknown } } | null)?.spec?.sysctls;
        for (const f of allFindings(judge(doc, nodes))) {
          if (f.index === undefined) continue;
          expect(Array.isArray(sysctls)).toBe(true);
          const entries = sysctls as unknown[];
          expect(f.index).toBeLessThan(entries.length);
          // An entry without a string name (a schema denial) has no sysctl to compare.
          if (f.sysctl !== undefined) expect((entries[f.index] as { name?: unknown }).name).toBe(f.sysctl);
        }
      }),
      { numRuns: 300 },
    );
  });

  it("is deterministic: the same input gives the same report", () => {
    fc.assert(
      fc.property(policyArb, nodesArb, (doc, nodes) => {
        expect(judge(structuredClone(doc), nodes)).toEqual(judge(structuredClone(doc), nodes));
      }),
      { numRuns: 200 },
    );
  });

  it("denies a policy exactly when some finding denies", () => {
    fc.assert(
      fc.property(policyArb, nodesArb, (doc, nodes) => {
        const report = judge(doc, nodes);
        expect(report.verdict === "denied").toBe(allFindings(report).some((f) => f.severity === "deny"));
        for (const n of report.nodes) expect(n.verdict === "denied").toBe(n.findings.some((f) => f.severity === "deny"));
      }),
      { numRuns: 200 },
    );
  });

  it("gives the same policy-level findings with or without nodes", () => {
    fc.assert(
      fc.property(policyArb, nodesArb, (doc, nodes) => {
        expect(judge(doc, nodes).findings).toEqual(evaluatePolicy(doc).findings);
      }),
      { numRuns: 200 },
    );
  });
});

describe("per-policy node-rule selection", () => {
  /** The same rules without their pre-selection: every checkNode runs on every node. */
  const unselected: readonly Rule[] = RULES.map(({ nodeCheckApplies: _skip, ...rule }) => rule);

  it("never changes a finding: skipping a rule for a policy only skips rules that would stay silent", () => {
    fc.assert(
      fc.property(policyArb, nodesArb, (doc, inputs) => {
        const policy = preparePolicy(doc);
        for (const n of inputs.map((i) => prepareNode(i))) {
          if (!selects(policy, n)) continue;
          expect(checkOnNode(policy, n)).toEqual(checkOnNode(policy, n, unselected));
        }
      }),
      { numRuns: 300 },
    );
  });

  it("runs only the node rules a keepalive policy can trigger", () => {
    const policy = preparePolicy({ metadata: { name: "k" }, spec: { sysctls: [{ name: "net.ipv4.tcp_keepalive_time", value: "300" }] } });
    expect(nodeRulesFor(policy).map((r) => r.id)).toEqual(["TT011", "TT014", "TT041", "TT042"]);
  });
});

describe("the value grammar on arbitrary input", () => {
  it("never throws, and what it accepts parses again to the same normalised value", () => {
    fc.assert(
      fc.property(fc.constantFrom(...CATALOG), valueArb, (spec, raw) => {
        const r = parseValue(spec.grammar, raw);
        if (r.ok) expect(parseValue(spec.grammar, r.normalized)).toEqual(r);
      }),
      { numRuns: 1000 },
    );
  });
});
