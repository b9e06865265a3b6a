import type { NodeStateStatus } from "../../../src/api/v1alpha1/node-state.js";
import { nodeStateView, nodeView, policyView, type NodeView, type PolicyView } from "../../../src/controller/cluster-view.js";

/** Builders for the controller's pure tests: policies, Nodes and node states as the API returns them. */

let seq = 0;

export interface PolicyOptions {
  readonly priority?: number;
  readonly mode?: "Enforce" | "DryRun";
  readonly selector?: Record<string, string>;
  readonly created?: string;
  readonly generation?: number;
  readonly status?: unknown;
}

export function policyObject(name: string, sysctls: Record<string, string>, o: PolicyOptions = {}): Record<string, unknown> {
  return {
    apiVersion: "tcptuning.io/v1alpha1",
    kind: "TcpTuningPolicy",
    metadata: {
      name,
      uid: `uid-${name}`,
      generation: o.generation ?? 1,
      creationTimestamp: o.created ?? `2026-01-01T00:00:${String(seq++ % 60).padStart(2, "0")}Z`,
    },
    spec: {
      sysctls: Object.entries(sysctls).map(([n, value]) => ({ name: n, value })),
      ...(o.priority !== undefined ? { priority: o.priority } : {}),
      ...(o.mode ? { mode: o.mode } : {}),
      ...(o.selector ? { nodeSelector: { matchLabels: o.selector } } : {}),
    },
    ...(o.status !== undefined ? { status: o.status } : {}),
  };
}

export const policy = (name: string, sysctls: Record<string, string>, o: PolicyOptions = {}): PolicyView => policyView(policyObject(name, sysctls, o));

export interface NodeOptions {
  readonly kernel?: string;
  readonly labels?: Record<string, string>;
  readonly os?: string;
  /** A node state: its spec, generation and the agent's status. */
  readonly state?: {
    readonly sysctls?: { name: string; value: string; policy: string; policyGeneration?: number }[];
    readonly generation?: number;
    readonly status?: NodeStateStatus;
  };
}

export function nodeObject(name: string, o: NodeOptions = {}): Record<string, unknown> {
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: { name, uid: `uid-${name}`, labels: { "kubernetes.io/os": o.os ?? "linux", ...o.labels } },
    status: { nodeInfo: { kernelVersion: o.kernel ?? "6.1.0-18-amd64", operatingSystem: o.os ?? "linux" } },
  };
}

export function node(name: string, o: NodeOptions = {}): NodeView {
  const state = o.state
    ? nodeStateView({
        apiVersion: "tcptuning.io/v1alpha1",
        kind: "TcpTuningNodeState",
        metadata: { name, generation: o.state.generation ?? 1, resourceVersion: "1" },
        spec: { nodeName: name, sysctls: o.state.sysctls ?? [] },
        ...(o.state.status ? { status: o.state.status } : {}),
      })
    : undefined;
  const v = nodeView(nodeObject(name, o), state);
  if (!v) throw new Error(`node ${name} did not parse`);
  return v;
}

/** An agent status that reports every key of `sysctls` Applied at `generation`. */
export function appliedStatus(generation: number, sysctls: readonly { name: string; value: string }[]): NodeStateStatus {
  return {
    observedGeneration: generation,
    keys: sysctls.map((s) => ({ name: s.name, desired: s.value, actual: s.value, result: "Applied" as const })),
    conditions: [
      { type: "Applied", status: "True", reason: "AllKeysApplied", message: "ok", lastTransitionTime: "2026-01-01T00:00:00Z", observedGeneration: generation },
    ],
  };
}
