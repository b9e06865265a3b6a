import { catalogNames, IN_SCOPE_PREFIXES } from "../catalog.js";
import type { Rule } from "../rule.js";
import { entryReport } from "../rule.js";
import { closest } from "../suggest.js";
import type { PreparedEntry } from "../prepared-policy.js";

const CONTRACT = { title: "docs/contract.md section 1: sysctl names are written with dots, exactly as `sysctl -a` prints them" };
const NAME_GRAMMAR = /^[a-z0-9_]+(\.[a-z0-9_-]+)+$/;

/** Why a name cannot even be a sysctl name, or undefined when it is well-formed. */
export function nameGrammarProblem(name: string): string | undefined {
  if (name.includes("/")) return "contains '/' (write sysctl names with dots, never as paths)";
  if (name.includes("..")) return "contains '..'";
  if (/\s/.test(name)) return "contains whitespace";
  if (/[*?[\]{}]/.test(name)) return "contains a glob character (each key must be named exactly)";
  if (!NAME_GRAMMAR.test(name)) return "is not dotted lowercase words like net.ipv4.tcp_fin_timeout";
  return undefined;
}

function wellFormed(e: PreparedEntry): boolean {
  return nameGrammarProblem(e.name) === undefined;
}

function inScope(name: string): boolean {
  return IN_SCOPE_PREFIXES.some((p) => name.startsWith(p));
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
      const problem = nameGrammarProblem(e.name);
      if (problem) emit(entryReport(e, `Sysctl name ${JSON.stringify(e.name)} ${problem}. Name one catalog key, e.g. net.ipv4.tcp_tw_reuse (see \`tcp-tuning explain\`).`));
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
      if (wellFormed(e) && !inScope(e.name)) {
        const suggestion = closest(e.name, catalogNames());
        const hint = suggestion ? ` If you meant ${suggestion}, use that name.` : "";
        emit(
          entryReport(
            e,
            `${e.name} is outside the TCP/IP networking keys this operator manages (${IN_SCOPE_PREFIXES.map((p) => `${p}*`).join(", ")}); kernel.*, vm.* and fs.* are never written. Remove it from the policy and manage it with your node configuration tooling.${hint}`,
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
      if (!e.spec && wellFormed(e) && inScope(e.name)) {
        const suggestion = closest(e.name, catalogNames());
        const hint = suggestion
          ? `Did you mean ${suggestion}? Use that name, or remove the entry.`
          : "Remove the entry, or run `tcp-tuning explain` to list the keys this operator manages.";
        emit(entryReport(e, `${e.name} is not a sysctl this operator knows. ${hint}`));
      }
    }
  },
};
