import { API_GROUP_VERSION, NODE_STATE_KIND } from "../api/v1alpha1/group.js";
import type { DesiredSysctl, NodeState } from "../api/v1alpha1/node-state.js";

/**
 * The node state object the controller applies (server-side apply, its own field manager, spec only):
 * named after the node, with an ownerReference to the Node so the garbage collector deletes it with
 * the Node. `controller` is false: the Node does not manage it, this controller does, and the flag
 * means "the managing controller" to tools that read it. `blockOwnerDeletion` is false so that deleting
 * a Node never waits for its node state (nor needs permission to set it).
 */
export function nodeStateApplyBody(
  node: { readonly name: string; readonly uid: string | undefined },
  sysctls: readonly DesiredSysctl[],
): Record<string, unknown> {
  const metadata: Record<string, unknown> = { name: node.name };
  if (node.uid !== undefined)
    metadata["ownerReferences"] = [{ apiVersion: "v1", kind: "Node", name: node.name, uid: node.uid, controller: false, blockOwnerDeletion: false }];
  return {
    apiVersion: API_GROUP_VERSION,
    kind: NODE_STATE_KIND,
    metadata,
    spec: {
      nodeName: node.name,
      sysctls: sysctls.map((s) => ({
        name: s.name,
        value: s.value,
        policy: s.policy,
        ...(s.policyGeneration !== undefined ? { policyGeneration: s.policyGeneration } : {}),
      })),
    },
  };
}

const entryKey = (s: DesiredSysctl): string => `${s.name}\u0000${s.value}\u0000${s.policy}\u0000${s.policyGeneration ?? ""}`;

/** Same desired sysctls (order does not matter: the list is a map keyed by name). */
export function sameSysctls(a: readonly DesiredSysctl[] | undefined, b: readonly DesiredSysctl[] | undefined): boolean {
  const x = (a ?? []).map(entryKey).sort();
  const y = (b ?? []).map(entryKey).sort();
  return x.length === y.length && x.every((k, i) => k === y[i]);
}

/**
 * Whether the object already says what the controller would apply: spec (nodeName, sysctls) and the
 * ownerReference to this Node's uid. Compared before every apply, so an unchanged cluster costs no write.
 */
export function nodeStateUpToDate(
  current: NodeState | undefined,
  node: { readonly name: string; readonly uid: string | undefined },
  sysctls: readonly DesiredSysctl[],
): boolean {
  if (!current) return false;
  if (current.spec.nodeName !== node.name || !sameSysctls(current.spec.sysctls, sysctls)) return false;
  if (node.uid === undefined) return true;
  const owners = (current.metadata["ownerReferences"] ?? []) as { kind?: string; uid?: string; blockOwnerDeletion?: boolean }[];
  return owners.some((o) => o.kind === "Node" && o.uid === node.uid && o.blockOwnerDeletion === false);
}
