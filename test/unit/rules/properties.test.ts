import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { nodeRulesFor } from "../../../src/rules/engine.js";
import {
  CATALOG,
  checkOnNode,
  evaluatePolicy,
  parseValue,
  preparePolicy,
  prepareNode,
  RULES,
  selects,
  type NodeInput,
  type PolicyReport,
  type Rule,
} from "../../../src/rules/index.js";
import { nodeArb, policyArb, valueArb } from "./arbitraries.js";
import { allFindings } from "./support.js";

const RULE_IDS = new Set(RULES.map((r) => r.id));

const nodesArb = fc.array(nodeArb, { maxLength: 6 });

function judge(doc: unknown, inputs: readonly NodeInput[]): PolicyReport {
  return evaluatePolicy(
    doc,
    inputs.map((n) => prepareNode(n)),
  );
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
