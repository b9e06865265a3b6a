import { nodeInputFromObject, nodeObjectSchema, prepareNode, type PreparedNode } from "../../../../src/rules/index.js";
import type { NodeProbe } from "../../../../src/api/v1alpha1/node-state.js";

let counter = 0;

/** An AdmissionReview v1 request as the apiserver sends it for a TcpTuningPolicy. */
export function policyReview(
  object: unknown,
  options: { operation?: string; oldObject?: unknown; uid?: string; kind?: string; resource?: string; subResource?: string } = {},
) {
  counter++;
  const request: Record<string, unknown> = {
    uid: options.uid ?? `00000000-0000-4000-8000-${String(counter).padStart(12, "0")}`,
    kind: { group: "tcptuning.io", version: "v1alpha1", kind: options.kind ?? "TcpTuningPolicy" },
    resource: { group: "tcptuning.io", version: "v1alpha1", resource: options.resource ?? "tcptuningpolicies" },
    operation: options.operation ?? "CREATE",
    userInfo: { username: "alice" },
    object,
  };
  if (options.oldObject !== undefined) request["oldObject"] = options.oldObject;
  if (options.subResource !== undefined) request["subResource"] = options.subResource;
  return { apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", request };
}

export function policy(name: string, sysctls: { name: string; value: string }[], extra: Record<string, unknown> = {}) {
  return { apiVersion: "tcptuning.io/v1alpha1", kind: "TcpTuningPolicy", metadata: { name }, spec: { sysctls, ...extra } };
}

export function preparedNodes(objects: readonly unknown[], probes: ReadonlyMap<string, NodeProbe> = new Map()): PreparedNode[] {
  return objects.map((o) => {
    const node = nodeObjectSchema.parse(o);
    return prepareNode(nodeInputFromObject(node, probes.get(node.metadata.name)));
  });
}

export function linuxNode(name: string, kernelVersion: string, labels: Record<string, string> = {}) {
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: { name, labels: { "kubernetes.io/os": "linux", ...labels } },
    status: { nodeInfo: { kernelVersion, operatingSystem: "linux" } },
  };
}
