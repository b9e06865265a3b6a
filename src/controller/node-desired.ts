import type { DesiredSysctl } from "../api/v1alpha1/node-state.js";
import type { WithheldKey } from "../api/v1alpha1/policy.js";
import { checkOnNode, selects, type Finding } from "../rules/index.js";
import { precedence, type NodeView, type PolicyView } from "./cluster-view.js";
import { judgeCombination, type Claim } from "./combination.js";

/** A key of a policy not applied on a node although the policy is allowed there. */
export type Withheld = Omit<WithheldKey, "node">;

/** What became of one matching policy on one node. */
export type PolicyOnNode =
  | {
      readonly kind: "rejected";
      /** The engine's denials of this policy on this node (runtime rejection). */
      readonly findings: readonly Finding[];
    }
  | {
      readonly kind: "active";
      /** Keys this policy supplies in the node's desired state (alone or with equal policies of the same value). */
      readonly won: readonly DesiredSysctl[];
      /** Keys another policy of higher precedence sets (by design: not a problem). */
      readonly overridden: readonly { readonly sysctl: string; readonly by: string }[];
      /** Keys not applied because of a conflict or a denied combination. */
      readonly withheld: readonly Withheld[];
    };

export interface NodeDesired {
  readonly node: string;
  /** The node's desired state, sorted by name: what its TcpTuningNodeState's spec.sysctls should be. */
  readonly sysctls: readonly DesiredSysctl[];
  /** Every policy that selects this Linux node, by name. */
  readonly policies: ReadonlyMap<string, PolicyOnNode>;
}

interface RankedClaim extends Claim {
  readonly view: PolicyView;
  readonly normalized: string;
}

/** Whether the policy takes part in the desired state (an Enforce policy, or the DryRun one being planned). */
function participates(p: PolicyView, planned: string | undefined): boolean {
  return !p.policyDenied && !p.deleting && (p.prepared.mode === "Enforce" || p.name === planned);
}

function withheldConflict(sysctl: string, me: RankedClaim, top: readonly RankedClaim[], node: string): Withheld {
  const others = top.filter((c) => c.policy !== me.policy);
  const values = top.map((c) => `${c.policy}: "${c.value}"`).join(", ");
  return {
    sysctl,
    reason: "Conflict",
    policies: others.map((c) => c.policy).slice(0, 8),
    message:
      `${sysctl} on node ${node}: policies of the same priority ${me.view.prepared.priority} want different values (${values}); neither is applied. Give one policy a higher priority or make the values equal.`.slice(
        0,
        1024,
      ),
  };
}

/**
 * The desired state of one node from every policy (level-triggered: nothing but the inputs counts).
 *
 * 1. Runtime rejection: each matching policy is judged on this node with the engine (the node may have
 *    joined, been relabelled or upgraded after admission); where denied, nothing of it applies here.
 * 2. Per key the highest priority wins; equal priority with different values is a conflict: neither
 *    value is applied and both policies say why. Equal values at equal priority agree: the key goes in
 *    once, attributed to the older policy.
 * 3. The merged set is judged again (combination.ts): a key that makes it denied is withheld.
 *
 * `planned` names a DryRun policy to include as if it were Enforce (its plan); others are left out.
 * Deterministic: the same inputs give the same output, whatever the order of `policies`.
 */
export function desiredForNode(node: NodeView, policies: readonly PolicyView[], planned?: string): NodeDesired {
  const outcomes = new Map<string, PolicyOnNode>();
  if (!node.linux) return { node: node.name, sysctls: [], policies: outcomes };
  const matching = policies.filter((p) => participates(p, planned) && selects(p.prepared, node.judged)).sort(precedence);

  const active: PolicyView[] = [];
  for (const p of matching) {
    const report = checkOnNode(p.prepared, node.judged);
    if (report.verdict === "denied") outcomes.set(p.name, { kind: "rejected", findings: report.findings.filter((f) => f.severity === "deny") });
    else active.push(p);
  }

  const byKey = new Map<string, RankedClaim[]>();
  for (const p of active) {
    for (const [name, entry] of p.prepared.byName) {
      const list = byKey.get(name) ?? [];
      list.push({ sysctl: name, value: entry.value, policy: p.name, view: p, normalized: entry.normalized });
      byKey.set(name, list);
    }
  }

  const won = new Map<string, DesiredSysctl[]>();
  const overridden = new Map<string, { sysctl: string; by: string }[]>();
  const withheld = new Map<string, Withheld[]>();
  const push = <T>(m: Map<string, T[]>, k: string, v: T): void => void m.set(k, [...(m.get(k) ?? []), v]);

  // Winners per key: claims are in precedence order, so the first is the key's best.
  const winners: { claim: RankedClaim; coWinners: RankedClaim[] }[] = [];
  for (const [sysctl, claims] of byKey) {
    const first = claims[0] as RankedClaim;
    const top = claims.filter((c) => c.view.prepared.priority === first.view.prepared.priority);
    const lower = claims.slice(top.length);
    const values = new Set(top.map((c) => c.normalized));
    if (values.size > 1) {
      for (const c of top) push(withheld, c.policy, withheldConflict(sysctl, c, top, node.name));
      for (const c of lower) push(overridden, c.policy, { sysctl, by: top.map((t) => t.policy).join(", ") });
      continue;
    }
    winners.push({ claim: first, coWinners: top });
    for (const c of lower) push(overridden, c.policy, { sysctl, by: first.policy });
  }
  // The merged set in precedence order of the key's owner, then by name for a stable order.
  winners.sort((a, b) => precedence(a.claim.view, b.claim.view) || (a.claim.sysctl < b.claim.sysctl ? -1 : 1));
  const combination = judgeCombination(
    node.judged,
    winners.map((w) => w.claim),
  );
  const keptNames = new Set(combination.kept.map((c) => c.sysctl));
  for (const w of combination.withheld) {
    const owners = winners.find((x) => x.claim.sysctl === w.claim.sysctl)?.coWinners ?? [];
    const partnerPolicies = [...new Set(w.partners.map((p) => p.policy))];
    const partnerText =
      w.partners.length > 0 ? w.partners.map((p) => `${p.sysctl}="${p.value}" of policy ${p.policy}`).join(", ") : "the other keys of this node";
    const why = w.finding ? ` ${w.finding.rule}: ${w.finding.message}` : "";
    for (const owner of owners) {
      push(withheld, owner.policy, {
        sysctl: w.claim.sysctl,
        reason: "CombinationDenied",
        policies: partnerPolicies.slice(0, 8),
        message:
          `${w.claim.sysctl}="${w.claim.value}" is withheld on node ${node.name}: combined with ${partnerText} the rule engine denies it (it has the lower precedence).${why}`.slice(
            0,
            1024,
          ),
      });
    }
    // The partners say why too: their key stays, the other policy's does not.
    for (const partner of w.partners) {
      for (const owner of owners) {
        push(withheld, partner.policy, {
          sysctl: partner.sysctl,
          reason: "CombinationDenied",
          policies: [owner.policy],
          message:
            `${partner.sysctl}="${partner.value}" is applied on node ${node.name}, and ${w.claim.sysctl}="${w.claim.value}" of policy ${owner.policy} is withheld there: the rule engine denies the combination, and that key has the lower precedence.${why}`.slice(
              0,
              1024,
            ),
        });
      }
    }
  }

  const sysctls: DesiredSysctl[] = [];
  for (const w of winners) {
    if (!keptNames.has(w.claim.sysctl)) continue;
    const owner = w.claim.view;
    sysctls.push({ name: w.claim.sysctl, value: w.claim.value, policy: owner.name, policyGeneration: owner.generation });
    for (const c of w.coWinners) push(won, c.policy, { name: c.sysctl, value: c.value, policy: c.policy, policyGeneration: c.view.generation });
  }
  sysctls.sort((a, b) => (a.name < b.name ? -1 : 1));

  for (const p of active) {
    outcomes.set(p.name, { kind: "active", won: won.get(p.name) ?? [], overridden: overridden.get(p.name) ?? [], withheld: withheld.get(p.name) ?? [] });
  }
  return { node: node.name, sysctls, policies: outcomes };
}

/** Withheld entries that are a problem for the policy itself (its own key not applied); the rest only inform. */
export function ownWithheld(outcome: PolicyOnNode, won: readonly DesiredSysctl[] = outcome.kind === "active" ? outcome.won : []): Withheld[] {
  if (outcome.kind !== "active") return [];
  const mine = new Set(won.map((w) => w.name));
  return outcome.withheld.filter((w) => !mine.has(w.sysctl));
}
