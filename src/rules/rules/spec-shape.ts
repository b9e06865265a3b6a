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
    for (const error of policy.schemaErrors) {
      emit({ message: `Policy ${policy.name} is not a valid TcpTuningPolicy: ${error}. Fix the field to match the CRD schema.` });
    }
  },
};
