/**
 * The demo's fleet: the Linux nodes of examples/nodes.yaml (kernels 4.9 to 6.1, placement labels as
 * the checker's sample fleet has them) spread over two zones, created as Node objects the way
 * docs/development.md shows (status through the status subresource: there is no kubelet).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { CoreV1Api, type KubeConfig, type V1Node } from "@kubernetes/client-node";
import { parse } from "yaml";
import { mergePatch } from "../../src/kube/patch.js";
import { REPO_ROOT } from "../../test/support/control-plane.js";

export interface DemoNode {
  readonly name: string;
  readonly zone: string;
  readonly kernel: string;
  readonly os: string;
}

export function exampleFleet(): { nodes: DemoNode[]; objects: V1Node[] } {
  const list = parse(readFileSync(join(REPO_ROOT, "examples", "nodes.yaml"), "utf8")) as { items: V1Node[] };
  const objects = list.items.map((n, i): V1Node => {
    const labels: Record<string, string> = { ...n.metadata?.labels, "topology.kubernetes.io/zone": i % 2 === 0 ? "zone-a" : "zone-b" };
    return { ...n, metadata: { ...n.metadata, labels } };
  });
  const nodes = objects.map((n) => ({
    name: n.metadata!.name!,
    zone: n.metadata!.labels!["topology.kubernetes.io/zone"]!,
    kernel: n.status?.nodeInfo?.kernelVersion ?? "?",
    os: n.metadata?.labels?.["kubernetes.io/os"] ?? "linux",
  }));
  return { nodes, objects };
}

export async function createNodes(kc: KubeConfig, objects: readonly V1Node[]): Promise<void> {
  const core = kc.makeApiClient(CoreV1Api);
  const capacity = { cpu: "4", memory: "8Gi", pods: "110" };
  for (const n of objects) {
    const name = n.metadata!.name!;
    await core.createNode({ body: { apiVersion: "v1", kind: "Node", metadata: { name, labels: n.metadata?.labels ?? {} } } });
    const nodeInfo = { machineID: "", systemUUID: "", bootID: "", containerRuntimeVersion: "none://0", kubeProxyVersion: "", ...n.status?.nodeInfo };
    const now = new Date();
    await core.patchNodeStatus(
      {
        name,
        body: {
          status: {
            nodeInfo,
            capacity,
            allocatable: capacity,
            conditions: [{ type: "Ready", status: "True", reason: "KubeletReady", message: "demo node", lastHeartbeatTime: now, lastTransitionTime: now }],
          },
        },
      },
      mergePatch(),
    );
  }
}
