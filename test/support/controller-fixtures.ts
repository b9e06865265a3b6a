import type { CoreV1Api, CustomObjectsApi } from "@kubernetes/client-node";
import { API_GROUP, API_VERSION, NODE_STATE_PLURAL, POLICY_PLURAL } from "../../src/api/v1alpha1/group.js";
import { mergePatch } from "../../src/kube/patch.js";
import { eventually } from "./eventually.js";

/**
 * Set-up and clean-up the controller's integration tests share: a fleet of Linux Nodes with a kernel,
 * the node states that exist before a test (so it deletes only its own), every agent having reported,
 * and a policy deleted even when it still holds the rollout's finalizer.
 */

interface NodeStateItem {
  readonly metadata: { readonly name: string };
  readonly status?: { readonly observedGeneration?: number };
}

async function listNodeStates(custom: CustomObjectsApi): Promise<NodeStateItem[]> {
  const list = (await custom.listClusterCustomObject({ group: API_GROUP, version: API_VERSION, plural: NODE_STATE_PLURAL })) as { items: NodeStateItem[] };
  return list.items;
}

/**
 * The names of the node states that exist now, once they can be listed at all: right after a CRD is
 * installed its storage may still be initialising (429).
 */
export async function existingNodeStates(custom: CustomObjectsApi): Promise<Set<string>> {
  const items = await eventually("node states to be listable", () => listNodeStates(custom));
  return new Set(items.map((s) => s.metadata.name));
}

/** A Linux Node with these labels whose kubelet reports this kernel. */
export async function createLinuxNode(core: CoreV1Api, name: string, labels: Record<string, string>, kernelVersion: string): Promise<void> {
  await core.createNode({ body: { metadata: { name, labels: { "kubernetes.io/os": "linux", ...labels } } } });
  await core.patchNodeStatus({ name, body: { status: { nodeInfo: { kernelVersion, operatingSystem: "linux" } } } }, mergePatch());
}

/** Creates the Nodes ten at a time (a loaded apiserver takes a burst of 50 badly). */
export async function createLinuxNodes(
  core: CoreV1Api,
  names: readonly string[],
  labelsOf: (name: string) => Record<string, string>,
  kernelVersion: string,
): Promise<void> {
  for (let i = 0; i < names.length; i += 10) await Promise.all(names.slice(i, i + 10).map((n) => createLinuxNode(core, n, labelsOf(n), kernelVersion)));
}

/** Waits until the node state of each of these nodes exists and its agent has reported it. */
export async function waitForReportedNodeStates(custom: CustomObjectsApi, nodes: ReadonlySet<string>, timeoutMs: number): Promise<void> {
  await eventually(
    "a reported node state for every node",
    async () => {
      const reported = (await listNodeStates(custom)).filter((s) => nodes.has(s.metadata.name) && s.status?.observedGeneration !== undefined);
      return reported.length === nodes.size ? true : undefined;
    },
    timeoutMs,
    500,
  );
}

/** Deletes a policy, clearing the rollout's finalizer first so no controller is needed; absent is fine. */
export async function deletePolicyNow(custom: CustomObjectsApi, name: string): Promise<void> {
  const ref = { group: API_GROUP, version: API_VERSION, plural: POLICY_PLURAL, name };
  await custom.patchClusterCustomObject({ ...ref, body: { metadata: { finalizers: null } } }, mergePatch()).catch(() => undefined);
  await custom.deleteClusterCustomObject(ref).catch(() => undefined);
}
