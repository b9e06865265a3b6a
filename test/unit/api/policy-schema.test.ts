import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { policySchema, SYSCTL_NAME_PATTERN, SYSCTL_SCOPE_PREFIXES } from "../../../src/api/v1alpha1/policy.js";
import { IN_SCOPE_PREFIXES } from "../../../src/rules/catalog.js";
import { nameGrammarProblem } from "../../../src/rules/checks/names.js";

const fleet = join(import.meta.dirname, "..", "..", "fixtures", "fleet", "policies");

describe("the TcpTuningPolicy schema", () => {
  it.each(readdirSync(fleet).filter((f) => f.endsWith(".yaml")))("accepts the fleet sample %s as a well-formed policy", (file) => {
    const doc = parse(readFileSync(join(fleet, file), "utf8"));
    expect(policySchema.safeParse(doc).success).toBe(true);
  });

  it("refuses a policy without sysctls", () => {
    expect(policySchema.safeParse({ apiVersion: "tcptuning.io/v1alpha1", kind: "TcpTuningPolicy", metadata: { name: "x" }, spec: { sysctls: [] } }).success).toBe(false);
  });

  it("refuses an unknown mode and a malformed maxUnavailable", () => {
    const base = { apiVersion: "tcptuning.io/v1alpha1", kind: "TcpTuningPolicy", metadata: { name: "x" } };
    const sysctls = [{ name: "net.ipv4.tcp_tw_reuse", value: "1" }];
    expect(policySchema.safeParse({ ...base, spec: { sysctls, mode: "Audit" } }).success).toBe(false);
    expect(policySchema.safeParse({ ...base, spec: { sysctls, rollout: { maxUnavailable: "150%" } } }).success).toBe(false);
    expect(policySchema.safeParse({ ...base, spec: { sysctls, rollout: { maxUnavailable: "10%" } } }).success).toBe(true);
  });
});

describe("the CRD's CEL name rules and the engine's name rules", () => {
  const samples = ["net.ipv4.tcp_tw_reuse", "net/ipv4/tcp_tw_reuse", "net.ipv4..tcp", "net.ipv4.tcp_*", "net.ipv4.tcp tw", "NET.IPV4.X", "net", "vm.swappiness", "net.ipv4.conf.eth0-1.rp_filter", "kernel.core_pattern"];

  it.each(samples)("agree on whether %s is well-formed", (name) => {
    expect(new RegExp(SYSCTL_NAME_PATTERN).test(name)).toBe(nameGrammarProblem(name) === undefined);
  });

  it("agree on the trees in scope", () => {
    expect([...IN_SCOPE_PREFIXES]).toEqual([...SYSCTL_SCOPE_PREFIXES]);
  });
});
