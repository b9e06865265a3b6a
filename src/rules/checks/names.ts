import { isInScope, SYSCTL_SCOPE_TEXT, sysctlNameProblem } from "../../api/v1alpha1/sysctl-name.js";
import { catalogNames } from "../catalog.js";
import type { Rule } from "../rule.js";
import { entryReport } from "../rule.js";
import { closest } from "../suggest.js";
import type { PreparedEntry } from "../prepared-policy.js";

const CONTRACT = { title: "docs/contract.md section 1: sysctl names are written with dots, exactly as `sysctl -a` prints them" };

function wellFormed(e: PreparedEntry): boolean {
  return sysctlNameProblem(e.name) === undefined;
}

/** TT002: names with '/', '..', whitespace or globs could escape /proc/sys/net or hit many keys. */
export const nameInvalidRule: Rule = {
  id: "TT002",
  name: "sysctl-name-invalid",
  severity: "deny",
  summary: "A sysctl name is not a well-formed dotted name.",
  reference: CONTRACT,
  checkPolicy(policy, emit) {
    for (const e of policy.entries) {
      const problem = sysctlNameProblem(e.name);
      if (problem)
        emit(
          entryReport(e, `Sysctl name ${JSON.stringify(e.name)} ${problem}. Name one catalog key, e.g. net.ipv4.tcp_tw_reuse (see \`tcp-tuning explain\`).`),
        );
    }
  },
};

/** TT003: kernel.*, vm.*, fs.* and other trees are never written by this operator. */
export const outOfScopeRule: Rule = {
  id: "TT003",
  name: "sysctl-out-of-scope",
  severity: "deny",
  summary: "A sysctl outside the TCP/IP networking keys this operator manages.",
  reference: { title: "docs/contract.md section 1: only the TCP/IP networking keys in the catalog are in scope" },
  checkPolicy(policy, emit) {
    for (const e of policy.entries) {
      if (wellFormed(e) && !isInScope(e.name)) {
        const suggestion = closest(e.name, catalogNames());
        const hint = suggestion ? ` If you meant ${suggestion}, use that name.` : "";
        emit(
          entryReport(
            e,
            `${e.name} is outside the TCP/IP networking keys this operator manages (${SYSCTL_SCOPE_TEXT}); kernel.*, vm.* and fs.* are never written. Remove it from the policy and manage it with your node configuration tooling.${hint}`,
          ),
        );
      }
    }
  },
};

/** TT004: an in-scope name the catalog does not know, most often a typo. */
export const unknownKeyRule: Rule = {
  id: "TT004",
  name: "sysctl-unknown",
  severity: "deny",
  summary: "A networking sysctl that is not in the catalog (often a misspelling).",
  reference: { title: "src/rules/catalog.ts (the sysctl catalog)" },
  checkPolicy(policy, emit) {
    for (const e of policy.entries) {
      if (!e.spec && wellFormed(e) && isInScope(e.name)) {
        const suggestion = closest(e.name, catalogNames());
        const hint = suggestion
          ? `Did you mean ${suggestion}? Use that name, or remove the entry.`
          : "Remove the entry, or run `tcp-tuning explain` to list the keys this operator manages.";
        emit(entryReport(e, `${e.name} is not a sysctl this operator knows. ${hint}`));
      }
    }
  },
};
