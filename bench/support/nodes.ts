import type { CoreV1Api, V1Node } from "@kubernetes/client-node";
import type { NodeInput } from "../../src/rules/index.js";
import { syntheticFleet } from "./fleet.js";

/**
 * Nodes for the benchmarks that need a real API server: as big as real ones (images, conditions,
 * addresses), because what a component keeps or parses of a Node is part of what is measured.
 */

/** A Node as big as a real one: the informer of old kept all of it (images, conditions, addresses). */
export function realisticNode(i: number, input: NodeInput): V1Node {
  const images = Array.from({ length: 40 }, (_, k) => ({
    names: [
      `registry.example.com/team-${k % 7}/service-${k}@sha256:${(i * 7919 + k).toString(16).padStart(64, "0")}`,
      `registry.example.com/team-${k % 7}/service-${k}:v1.${k}.0`,
    ],
    sizeBytes: 50_000_000 + k,
  }));
  const now = new Date();
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name: input.name,
      labels: input.labels,
      annotations: { "node.alpha.kubernetes.io/ttl": "0", "volumes.kubernetes.io/controller-managed-attach-detach": "true" },
    },
    spec: { podCIDR: `10.${(i >> 8) & 255}.${i & 255}.0/24`, providerID: `aws:///eu-west-1a/i-${i.toString(16).padStart(17, "0")}` },
    status: {
      nodeInfo: {
        kernelVersion: input.kernelVersion ?? "",
        operatingSystem: input.operatingSystem ?? "linux",
        architecture: "amd64",
        bootID: `${i}`,
        containerRuntimeVersion: "containerd://2.1.0",
        kubeProxyVersion: "",
        kubeletVersion: "v1.37.2",
        machineID: `${i}`,
        osImage: "Ubuntu 24.04 LTS",
        systemUUID: `${i}`,
      },
      capacity: { cpu: "8", memory: "32Gi", pods: "110", "ephemeral-storage": "100Gi" },
      allocatable: { cpu: "7910m", memory: "31Gi", pods: "110", "ephemeral-storage": "92Gi" },
      addresses: [
        { type: "InternalIP", address: `10.0.${(i >> 8) & 255}.${i & 255}` },
        { type: "Hostname", address: input.name },
      ],
      conditions: ["MemoryPressure", "DiskPressure", "PIDPressure", "Ready"].map((type) => ({
        type,
        status: type === "Ready" ? "True" : "False",
        lastHeartbeatTime: now,
        lastTransitionTime: now,
        reason: `Kubelet${type}`,
        message: `kubelet reports ${type}`,
      })),
      images,
    } as unknown as V1Node["status"],
  };
}

/** Runs work(item) for every item, at most `concurrency` at a time. */
export async function pool<T>(items: readonly T[], concurrency: number, work: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) await work(items[next++] as T);
    }),
  );
}

export interface CreateNodesOptions {
  readonly count: number;
  /** Turns a prototype into the node to create (e.g. force Linux); the identity by default. */
  readonly adapt?: (input: NodeInput) => NodeInput;
  readonly concurrency?: number;
  readonly prefix?: string;
}

/**
 * Creates `count` realistic Nodes named PREFIX-I from 60 prototypes of the synthetic fleet (seed 1:
 * kernels, tiers, placement labels), each with its own hostname label. Resolves with the seconds taken
 * and the nodes created.
 */
export async function createNodes(core: CoreV1Api, options: CreateNodesOptions): Promise<{ seconds: number; nodes: NodeInput[] }> {
  const { makeNode } = syntheticFleet(1);
  const protos = Array.from({ length: 60 }, (_, i) => makeNode(i));
  const adapt = options.adapt ?? ((n: NodeInput) => n);
  const prefix = options.prefix ?? "node";
  const started = performance.now();
  const nodes: NodeInput[] = [];
  await pool(
    Array.from({ length: options.count }, (_, i) => i),
    options.concurrency ?? 16,
    async (i) => {
      const p = protos[i % protos.length] as NodeInput;
      const name = `${prefix}-${i}`;
      const node = adapt({ ...p, name, labels: { ...p.labels, "kubernetes.io/hostname": name } });
      await core.createNode({ body: realisticNode(i, node) });
      nodes.push(node);
    },
  );
  return { seconds: (performance.now() - started) / 1000, nodes };
}
