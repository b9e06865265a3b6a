import type { Rule } from "../rule.js";
import { entryReport } from "../rule.js";

/** TT005: the same key twice leaves the outcome to ordering; the CRD's list-map refuses it too. */
export const duplicateKeyRule: Rule = {
  id: "TT005",
  name: "sysctl-duplicate",
  severity: "deny",
  summary: "The same sysctl appears more than once in a policy.",
  reference: {
    title: "Kubernetes API conventions: list-type map keyed by name",
    url: "https://kubernetes.io/docs/reference/using-api/server-side-apply/#merge-strategy",
  },
  checkPolicy(policy, emit) {
    for (const e of policy.entries) {
      if (e.duplicate) {
        const first = policy.byName.get(e.name);
        emit(
          entryReport(e, `${e.name} is listed more than once (entries ${(first?.index ?? 0) + 1} and ${e.index + 1}). Keep one entry with the value you want.`),
        );
      }
    }
  },
};

/** TT006: a value that does not fit the key's grammar or documented bounds. */
export const valueInvalidRule: Rule = {
  id: "TT006",
  name: "value-invalid",
  severity: "deny",
  summary: "A value outside the key's grammar or documented range.",
  reference: { title: "Documentation/networking/ip-sysctl.rst", url: "https://docs.kernel.org/networking/ip-sysctl.html" },
  checkPolicy(policy, emit) {
    for (const e of policy.entries) {
      if (e.spec && e.parseError !== undefined && !e.duplicate) {
        emit(
          entryReport(
            e,
            `${e.name}=${JSON.stringify(e.value)} is not a valid value: ${e.parseError}. Use a value within the documented range (\`tcp-tuning explain ${e.name}\`).`,
            { reference: e.spec.references[0] },
          ),
        );
      }
    }
  },
};
