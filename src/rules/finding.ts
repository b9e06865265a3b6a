import type { Reference } from "./catalog-types.js";

export type Severity = "deny" | "warn";

/** One judgement of one rule. `node` is absent for policy-level findings. */
export interface Finding {
  readonly rule: string;
  readonly severity: Severity;
  readonly sysctl?: string;
  readonly value?: string;
  readonly node?: string;
  /** Position of the entry in spec.sysctls (0-based), when the finding is about one entry: lets a tool point at its line. */
  readonly index?: number;
  /** Says what is wrong, on which node and sysctl, and what to do instead. */
  readonly message: string;
  /** Where the fact comes from: a kernel commit, a kernel doc, an RFC. */
  readonly reference: string;
}

/** A rule's identity, as documented and as SARIF lists it. */
export interface RuleInfo {
  readonly id: string;
  readonly name: string;
  readonly severity: Severity;
  readonly summary: string;
  readonly reference: Reference;
}

export function referenceText(ref: Reference): string {
  return ref.url ? `${ref.title} <${ref.url}>` : ref.title;
}
