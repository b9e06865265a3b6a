import { API_GROUP_VERSION, POLICY_KIND } from "../api/v1alpha1/group.js";
import { evaluatePolicy, type Finding, type PreparedNode } from "../rules/index.js";

/** One key a policy wins on a node, before the merged set is judged. */
export interface Claim {
  readonly sysctl: string;
  readonly value: string;
  readonly policy: string;
}

export interface WithheldClaim {
  readonly claim: Claim;
  /** The kept claims it is denied with (other policies' keys), in precedence order. */
  readonly partners: readonly Claim[];
  /** The engine's denial of the combination. */
  readonly finding: Finding | undefined;
}

export interface CombinationResult {
  readonly kept: readonly Claim[];
  readonly withheld: readonly WithheldClaim[];
}

/** The engine's denials of a set of keys on one node, as if one policy asked for all of them. */
function denials(node: PreparedNode, claims: readonly Claim[]): Finding[] {
  if (claims.length === 0) return [];
  const doc = {
    apiVersion: API_GROUP_VERSION,
    kind: POLICY_KIND,
    metadata: { name: `desired-state-of-${node.name}` },
    spec: { sysctls: claims.map((c) => ({ name: c.sysctl, value: c.value })) },
  };
  const report = evaluatePolicy(doc, [node]);
  if (report.verdict !== "denied") return [];
  return [...report.findings, ...report.nodes.flatMap((n) => n.findings)].filter((f) => f.severity === "deny");
}

const findingKey = (f: Finding): string => `${f.rule}\u0000${f.sysctl ?? ""}\u0000${f.message}`;

/**
 * The merged set of one node judged again with the same engine, because a denied combination can
 * span policies (one policy's tcp_timestamps=0 with another's tcp_tw_reuse=1; a port range from one
 * and ip_unprivileged_port_start from another).
 *
 * `claims` come in precedence order (the winning policy's priority, then age). When the whole set is
 * allowed, which is the common case, that is one evaluation. Otherwise keys are added one by one in
 * that order and a key whose addition makes the set denied is withheld: so the key that creates the
 * denied combination is always the lower-priority one, or on a tie the newer policy's. Its partners
 * are the kept keys of other policies that the engine denies it with, pair by pair.
 */
export function judgeCombination(node: PreparedNode, claims: readonly Claim[]): CombinationResult {
  if (denials(node, claims).length === 0) return { kept: claims, withheld: [] };
  const kept: Claim[] = [];
  const withheld: WithheldClaim[] = [];
  let keptDenials = new Set<string>();
  for (const claim of claims) {
    const found = denials(node, [...kept, claim]);
    const fresh = found.filter((f) => !keptDenials.has(findingKey(f)));
    if (fresh.length === 0) {
      kept.push(claim);
      keptDenials = new Set(found.map(findingKey));
      continue;
    }
    // A key denied on its own here (its policy's companion key lost to another policy) pairs with everything.
    const alone = denials(node, [claim]).length > 0;
    const partners = alone ? [] : kept.filter((k) => k.policy !== claim.policy && denials(node, [k, claim]).length > 0);
    withheld.push({ claim, partners: partners.length > 0 ? partners : kept.filter((k) => k.policy !== claim.policy), finding: fresh[0] });
  }
  return { kept, withheld };
}
