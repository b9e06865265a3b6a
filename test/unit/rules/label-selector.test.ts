import { describe, expect, it } from "vitest";
import type { LabelSelector } from "../../../src/api/v1alpha1/meta.js";
import { compileSelector } from "../../../src/rules/label-selector.js";
import { evaluatePolicy } from "../../../src/rules/index.js";
import { node, policyDoc } from "./support.js";

type Labels = Record<string, string>;
const edge: Labels = { tier: "edge", zone: "a" };
const app: Labels = { tier: "app" };
const none: Labels = {};
const ctor: Labels = { constructor: "x" };

const CASES: readonly (readonly [what: string, selector: LabelSelector | undefined, labels: Labels, matches: boolean])[] = [
  ["no selector matches every node", undefined, none, true],
  ["an empty selector matches every node", {}, app, true],
  ["matchLabels matches an equal label", { matchLabels: { tier: "edge" } }, edge, true],
  ["matchLabels does not match another value", { matchLabels: { tier: "edge" } }, app, false],
  ["matchLabels does not match a missing label", { matchLabels: { tier: "edge" } }, none, false],
  [
    "matchLabels with an empty value matches only an empty label",
    { matchLabels: { "node-role.kubernetes.io/ingress": "" } },
    { "node-role.kubernetes.io/ingress": "" },
    true,
  ],
  ["In matches a listed value", { matchExpressions: [{ key: "tier", operator: "In", values: ["edge", "lb"] }] }, edge, true],
  ["In does not match an unlisted value", { matchExpressions: [{ key: "tier", operator: "In", values: ["lb"] }] }, edge, false],
  ["In does not match a missing label", { matchExpressions: [{ key: "tier", operator: "In", values: ["edge"] }] }, none, false],
  ["NotIn matches an unlisted value", { matchExpressions: [{ key: "tier", operator: "NotIn", values: ["app"] }] }, edge, true],
  ["NotIn does not match a listed value", { matchExpressions: [{ key: "tier", operator: "NotIn", values: ["app"] }] }, app, false],
  ["NotIn matches a missing label, as in Kubernetes", { matchExpressions: [{ key: "tier", operator: "NotIn", values: ["app"] }] }, none, true],
  ["Exists matches a present label", { matchExpressions: [{ key: "zone", operator: "Exists" }] }, edge, true],
  ["Exists does not match a missing label", { matchExpressions: [{ key: "zone", operator: "Exists" }] }, app, false],
  ["DoesNotExist matches a missing label", { matchExpressions: [{ key: "zone", operator: "DoesNotExist" }] }, app, true],
  ["DoesNotExist does not match a present label", { matchExpressions: [{ key: "zone", operator: "DoesNotExist" }] }, edge, false],
  ["all requirements must hold", { matchLabels: { tier: "edge" }, matchExpressions: [{ key: "zone", operator: "In", values: ["b"] }] }, edge, false],
  ["all requirements holding matches", { matchLabels: { tier: "edge" }, matchExpressions: [{ key: "zone", operator: "In", values: ["a"] }] }, edge, true],
  // Object.prototype must never stand in for a label.
  ["Exists on `constructor` does not match a node without that label", { matchExpressions: [{ key: "constructor", operator: "Exists" }] }, none, false],
  ["Exists on `__proto__` does not match a node without that label", { matchExpressions: [{ key: "__proto__", operator: "Exists" }] }, none, false],
  ["Exists on `toString` does not match a node without that label", { matchExpressions: [{ key: "toString", operator: "Exists" }] }, app, false],
  [
    "DoesNotExist on `hasOwnProperty` matches a node without that label",
    { matchExpressions: [{ key: "hasOwnProperty", operator: "DoesNotExist" }] },
    none,
    true,
  ],
  ["NotIn on `constructor` matches a node without that label", { matchExpressions: [{ key: "constructor", operator: "NotIn", values: ["x"] }] }, none, true],
  [
    "matchLabels on `constructor` does not match a node without that label",
    { matchLabels: { constructor: "function Object() { [native code] }" } },
    none,
    false,
  ],
  ["In on `constructor` matches a node that really has that label", { matchExpressions: [{ key: "constructor", operator: "In", values: ["x"] }] }, ctor, true],
  ["Exists on `constructor` matches a node that really has that label", { matchExpressions: [{ key: "constructor", operator: "Exists" }] }, ctor, true],
];

describe("compileSelector", () => {
  it.each(CASES)("%s", (_what, selector, labels, matches) => {
    expect(compileSelector(selector)(labels)).toBe(matches);
  });

  it("reads labels from an object without a prototype", () => {
    const labels = Object.assign(Object.create(null) as Labels, { tier: "edge" });
    expect(compileSelector({ matchLabels: { tier: "edge" } })(labels)).toBe(true);
    expect(compileSelector({ matchExpressions: [{ key: "constructor", operator: "Exists" }] })(labels)).toBe(false);
  });
});

describe("node selection through a whole policy", () => {
  it("does not select every node for a selector on `constructor` (a bug found before)", () => {
    const nodes = [node("a", "6.6.54-flatcar", { labels: { tier: "app" } }), node("b", "6.6.54-flatcar", { labels: {} })];
    const report = evaluatePolicy(
      policyDoc([["net.ipv4.tcp_tw_reuse", "1"]], { nodeSelector: { matchExpressions: [{ key: "constructor", operator: "Exists" }] } }),
      nodes,
    );
    expect(report.nodes).toEqual([]);
  });

  it("selects nothing when the policy itself is invalid", () => {
    const report = evaluatePolicy({ metadata: { name: "bad" }, spec: { sysctls: "nope" } }, [node("a", "6.6.54-flatcar")]);
    expect(report.nodes).toEqual([]);
    expect(report.verdict).toBe("denied");
  });
});
