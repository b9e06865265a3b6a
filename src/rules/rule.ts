import type { Reference } from "./catalog-types.js";
import type { Finding, RuleInfo, Severity } from "./finding.js";
import type { PreparedNode } from "./node-facts.js";
import type { PreparedEntry, PreparedPolicy } from "./prepared-policy.js";

/** What a rule reports; the engine adds the rule id, the default severity, the reference and the node. */
export interface Report {
  readonly message: string;
  readonly sysctl?: string;
  readonly value?: string;
  /** Position of the entry in spec.sysctls. */
  readonly index?: number;
  /** Overrides the rule's severity (a rule may warn where it usually denies). */
  readonly severity?: Severity;
  /** Overrides the rule's reference with a more specific one (a catalog entry's commit). */
  readonly reference?: Reference;
}

export type Emit = (report: Report) => void;

/**
 * A rule: a stable id, a default severity, a reference, and up to two checks.
 * checkPolicy judges the policy alone (runs once per policy, also without nodes);
 * checkNode judges it on one matched Linux node (runs per policy x node: keep it cheap).
 */
export interface Rule extends RuleInfo {
  readonly checkPolicy?: (policy: PreparedPolicy, emit: Emit) => void;
  readonly checkNode?: (policy: PreparedPolicy, node: PreparedNode, emit: Emit) => void;
  /**
   * Whether checkNode can fire at all for this policy, whatever the node. The engine asks once per
   * policy and skips the rule on every node when it says no. Absent = always run checkNode.
   */
  readonly nodeCheckApplies?: (policy: PreparedPolicy) => boolean;
}

export function entryReport(entry: PreparedEntry, message: string, extra: Omit<Report, "message" | "sysctl" | "value" | "index"> = {}): Report {
  return { message, sysctl: entry.name, value: entry.value, index: entry.index, ...extra };
}

export type { Finding };
