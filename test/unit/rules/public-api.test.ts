import { describe, expect, it } from "vitest";
import * as engine from "../../../src/rules/index.js";

/** The CLI, the webhook and the controller import these names: renaming or dropping one breaks them. */
const EXPORTS = [
  "evaluatePolicy",
  "evaluatePrepared",
  "checkOnNode",
  "checkPolicyAlone",
  "selects",
  "prepareNode",
  "nodeInputFromObject",
  "nodeObjectSchema",
  "nodeInputSchema",
  "preparePolicy",
  "parseDefaultPlacement",
  "placementFromLabels",
  "CATALOG",
  "lookupSysctl",
  "catalogNames",
  "RULES",
  "parseKernelVersion",
  "normalizeSysctlValue",
  "parseValue",
  "closest",
  "referenceText",
  "classifyNodes",
  "evaluateByClass",
  "evaluateClasses",
  "expandClassReport",
  "selectClasses",
  "nodeClassKey",
  "compileSelector",
] as const;

describe("src/rules/index.ts", () => {
  it.each(EXPORTS)("still exports %s", (name) => {
    expect(engine[name]).toBeDefined();
  });

  it("puts the entry's position on findings about an entry, so tools can point at its line", () => {
    const report = engine.evaluatePolicy({
      metadata: { name: "p" },
      spec: {
        sysctls: [
          { name: "net.ipv4.tcp_keepalive_time", value: "300" },
          { name: "net.ipv4.tcp_syn_retries", value: "128" },
        ],
      },
    });
    const invalid = report.findings.find((f) => f.rule === "TT006");
    expect(invalid).toMatchObject({ sysctl: "net.ipv4.tcp_syn_retries", value: "128", index: 1 });
  });
});
