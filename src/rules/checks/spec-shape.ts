import type { Rule } from "../rule.js";

const API_CONVENTIONS = { title: "docs/contract.md section 1 (TcpTuningPolicy)" };

/** TT001: the document must be a TcpTuningPolicy the API accepts; nothing else can be judged. */
export const policySchemaRule: Rule = {
  id: "TT001",
  name: "policy-schema",
  severity: "deny",
  summary: "The policy's spec does not match the TcpTuningPolicy schema.",
  reference: API_CONVENTIONS,
  checkPolicy(policy, emit) {
    for (const issue of policy.schemaIssues) {
      const about = issue.sysctl !== undefined ? ` (entry ${JSON.stringify(issue.sysctl)})` : "";
      const report: { message: string; sysctl?: string; value?: string; index?: number } = {
        message: `Policy ${policy.name} is not a valid TcpTuningPolicy: ${issue.text}${about}. Fix the field to match the CRD schema (\`kubectl explain tcptuningpolicy.spec\`).`,
      };
      if (issue.sysctl !== undefined) report.sysctl = issue.sysctl;
      if (issue.value !== undefined) report.value = issue.value;
      if (issue.index !== undefined) report.index = issue.index;
      emit(report);
    }
  },
};
