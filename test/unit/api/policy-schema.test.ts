import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { policySchema, SYSCTL_ENTRY_VALIDATIONS } from "../../../src/api/v1alpha1/policy.js";
import { isInScope, isWellFormedSysctlName, SYSCTL_NAME_MAX, SYSCTL_NAME_PATTERN, sysctlNameProblem } from "../../../src/api/v1alpha1/sysctl-name.js";
import { allowSysctl } from "../../../src/agent/sysctl-fs.js";
import { CATALOG, evaluatePolicy } from "../../../src/rules/index.js";

const fleet = join(import.meta.dirname, "..", "..", "fixtures", "fleet", "policies");

describe("the TcpTuningPolicy schema", () => {
  it.each(readdirSync(fleet).filter((f) => f.endsWith(".yaml")))("accepts the fleet sample %s as a well-formed policy", (file) => {
    const doc = parse(readFileSync(join(fleet, file), "utf8"));
    expect(policySchema.safeParse(doc).success).toBe(true);
  });

  it("refuses a policy without sysctls", () => {
    expect(
      policySchema.safeParse({ apiVersion: "tcptuning.io/v1alpha1", kind: "TcpTuningPolicy", metadata: { name: "x" }, spec: { sysctls: [] } }).success,
    ).toBe(false);
  });

  it("refuses an unknown mode and a malformed maxUnavailable", () => {
    const base = { apiVersion: "tcptuning.io/v1alpha1", kind: "TcpTuningPolicy", metadata: { name: "x" } };
    const sysctls = [{ name: "net.ipv4.tcp_tw_reuse", value: "1" }];
    expect(policySchema.safeParse({ ...base, spec: { sysctls, mode: "Audit" } }).success).toBe(false);
    expect(policySchema.safeParse({ ...base, spec: { sysctls, rollout: { maxUnavailable: "150%" } } }).success).toBe(false);
    expect(policySchema.safeParse({ ...base, spec: { sysctls, rollout: { maxUnavailable: "10%" } } }).success).toBe(true);
  });
});

describe("one sysctl name grammar for the CRD, the rule engine and the agent", () => {
  const policyWith = (name: string) => ({
    apiVersion: "tcptuning.io/v1alpha1",
    kind: "TcpTuningPolicy",
    metadata: { name: "p" },
    spec: { sysctls: [{ name, value: "1" }] },
  });
  const ruleIds = (name: string) => new Set(evaluatePolicy(policyWith(name), []).findings.map((f) => f.rule));
  const agentRefusesAsName = (name: string) => {
    const r = allowSysctl(name);
    return !r.ok && r.reason.startsWith("not a sysctl name");
  };

  const samples = [
    "net.ipv4.tcp_tw_reuse",
    "net/ipv4/tcp_tw_reuse",
    "net.ipv4..tcp",
    "net.ipv4.tcp_*",
    "net.ipv4.tcp tw",
    "NET.IPV4.X",
    "net",
    "vm.swappiness",
    "net.ipv4.conf.eth0-1.rp_filter",
    "net-ipv4.conf.all.rp_filter",
    "kernel.core_pattern",
    "net.ipv4.tcp_tw_reuse.",
  ];

  it("the CRD's CEL rule embeds the one pattern", () => {
    expect(SYSCTL_ENTRY_VALIDATIONS[0].rule).toBe(`self.name.matches('${SYSCTL_NAME_PATTERN}')`);
  });

  it.each(samples)("the CRD pattern, the engine (TT002) and the agent agree on whether %j is well-formed", (name) => {
    const wellFormed = new RegExp(SYSCTL_NAME_PATTERN).test(name);
    expect(isWellFormedSysctlName(name)).toBe(wellFormed);
    expect(sysctlNameProblem(name) === undefined).toBe(wellFormed);
    expect(ruleIds(name).has("TT002")).toBe(!wellFormed);
    expect(agentRefusesAsName(name)).toBe(!wellFormed);
  });

  it.each(["vm.swappiness", "kernel.core_pattern", "net.ipv6.conf.all.forwarding", "net.unix.max_dgram_qlen"])(
    "the engine (TT003) and the agent both hold %s out of scope",
    (name) => {
      expect(isInScope(name)).toBe(false);
      expect(ruleIds(name).has("TT003")).toBe(true);
      const r = allowSysctl(name);
      expect(!r.ok && r.reason).toMatch(/out of scope/);
    },
  );

  it.each(CATALOG.map((s) => s.name))("catalog key %s is well-formed, in scope, within the length limit and allowed by the agent", (name) => {
    expect(sysctlNameProblem(name)).toBeUndefined();
    expect(isInScope(name)).toBe(true);
    expect(name.length).toBeLessThanOrEqual(SYSCTL_NAME_MAX);
    expect(allowSysctl(name).ok).toBe(true);
  });
});
