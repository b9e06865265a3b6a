import { nodeStateSchema, type NodeProbe, type NodeState, type NodeStateStatus, type OriginalValue } from "../api/v1alpha1/node-state.js";
import { policySchema, type PolicyStatus, type Rollout } from "../api/v1alpha1/policy.js";
import {
  checkPolicyAlone,
  nodeInputFromObject,
  nodeObjectSchema,
  normalizeSysctlValue,
  prepareNode,
  preparePolicy,
  type DefaultPlacement,
  type Finding,
  type NodeInput,
  type PreparedNode,
  type PreparedPolicy,
} from "../rules/index.js";

/**
 * What the controller computes from: every policy, Linux node and node state, each digested once.
 * Plain data, the same from informers or from a test; nothing here talks to the API.
 */

export interface PolicyView {
  readonly name: string;
  readonly uid: string | undefined;
  readonly generation: number;
  /** metadata.creationTimestamp ("" when unknown): on a tie the newer policy yields. */
  readonly createdAt: string;
  readonly prepared: PreparedPolicy;
  /** The policy alone, whatever the nodes (checkPolicyAlone). */
  readonly policyFindings: readonly Finding[];
  /** A policy-level denial (or an invalid spec): nothing of it is applied anywhere. */
  readonly policyDenied: boolean;
  readonly deleting: boolean;
  /** metadata.annotations (the rollout's pause and resume). */
  readonly annotations: Readonly<Record<string, string>>;
  readonly finalizers: readonly string[];
  /** metadata.deletionTimestamp as an ISO string, when deleting. */
  readonly deletedAt: string | undefined;
  readonly resourceVersion: string | undefined;
  readonly status: PolicyStatus | undefined;
  readonly rollout: Rollout | undefined;
}

export interface NodeStateView {
  readonly name: string;
  readonly generation: number | undefined;
  readonly resourceVersion: string | undefined;
  readonly object: NodeState;
}

export interface NodeView {
  readonly name: string;
  readonly uid: string | undefined;
  /** Name, labels, OS and kernel from the Node; no probe. */
  readonly input: NodeInput;
  /** What the engine judges against: the Node and its agent's probe, with this operator's own values replaced by the originals. */
  readonly judged: PreparedNode;
  readonly linux: boolean;
  readonly state: NodeStateView | undefined;
}

export interface ClusterView {
  /** Sorted by name. */
  readonly policies: readonly PolicyView[];
  /** Sorted by name; Windows nodes included (they are skipped, never targeted). */
  readonly nodes: readonly NodeView[];
}

/** Orders policies by precedence: higher priority first; on a tie the older (creationTimestamp, then name) first. */
export function precedence(a: PolicyView, b: PolicyView): number {
  return b.prepared.priority - a.prepared.priority || compareAge(a, b);
}

export function compareAge(a: Pick<PolicyView, "createdAt" | "name">, b: Pick<PolicyView, "createdAt" | "name">): number {
  return a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

function meta(obj: unknown): Record<string, unknown> {
  const m = obj && typeof obj === "object" ? (obj as { metadata?: unknown }).metadata : undefined;
  return m && typeof m === "object" ? (m as Record<string, unknown>) : {};
}

const str = (v: unknown): string | undefined => (typeof v === "string" ? v : v instanceof Date ? v.toISOString() : undefined);

function stringRecord(v: unknown): Record<string, string> {
  if (!v || typeof v !== "object") return {};
  return Object.fromEntries(Object.entries(v as Record<string, unknown>).filter((e): e is [string, string] => typeof e[1] === "string"));
}

/** A TcpTuningPolicy as read from the API (any shape: the engine judges what does not parse). */
export function policyView(obj: unknown): PolicyView {
  const m = meta(obj);
  const prepared = preparePolicy(obj);
  const policyFindings = checkPolicyAlone(prepared);
  const parsed = policySchema.safeParse(obj);
  const createdAt = str(m["creationTimestamp"]) ?? "";
  return {
    name: prepared.name,
    uid: str(m["uid"]),
    generation: typeof m["generation"] === "number" ? m["generation"] : 0,
    createdAt: createdAt === "" ? "" : new Date(createdAt).toISOString(),
    prepared,
    policyFindings,
    policyDenied: prepared.spec === undefined || policyFindings.some((f) => f.severity === "deny"),
    deleting: m["deletionTimestamp"] !== undefined && m["deletionTimestamp"] !== null,
    annotations: stringRecord(m["annotations"]),
    finalizers: Array.isArray(m["finalizers"]) ? (m["finalizers"] as unknown[]).filter((f): f is string => typeof f === "string") : [],
    deletedAt: m["deletionTimestamp"] ? new Date(str(m["deletionTimestamp"]) ?? 0).toISOString() : undefined,
    resourceVersion: str(m["resourceVersion"]),
    status: parsed.success ? parsed.data.status : undefined,
    rollout: prepared.spec?.rollout,
  };
}

/** A TcpTuningNodeState as read from the API; undefined when it does not fit the schema. */
export function nodeStateView(obj: unknown): NodeStateView | undefined {
  const parsed = nodeStateSchema.safeParse(obj);
  if (!parsed.success) return undefined;
  const o = parsed.data;
  return { name: o.metadata.name, generation: o.metadata.generation, resourceVersion: o.metadata.resourceVersion, object: o };
}

/**
 * The probe the controller judges with: a key this operator changed (it has an original in status)
 * reads as its original value, not ours. Otherwise a policy's own effect would be judged as a fact of
 * the node: once policy A set tcp_timestamps=0, policy B's tcp_tw_reuse=1 would read as "the node has
 * timestamps off" and B would be rejected outright instead of having its key withheld as the
 * combination of A and B asks.
 */
export function probeWithOriginals(probe: NodeProbe | undefined, originals: readonly OriginalValue[] | undefined): NodeProbe | undefined {
  if (!probe || !originals || originals.length === 0) return probe;
  const byName = new Map(originals.map((o) => [o.name, o.value]));
  return { ...probe, keys: probe.keys.map((k) => (byName.has(k.name) && k.present ? { ...k, value: normalizeSysctlValue(byName.get(k.name) ?? "") } : k)) };
}

/** A Node (any shape) with its node state; undefined when it is not a readable Node. */
export function nodeView(obj: unknown, state: NodeStateView | undefined, defaults: DefaultPlacement = {}): NodeView | undefined {
  const parsed = nodeObjectSchema.safeParse(obj && typeof obj === "object" ? { ...obj, kind: "Node" } : obj);
  if (!parsed.success) return undefined;
  const input = nodeInputFromObject(parsed.data);
  const status: NodeStateStatus | undefined = state?.object.status;
  const judged = prepareNode({ ...input, probe: probeWithOriginals(status?.probe, status?.originals) }, defaults);
  return { name: input.name, uid: str(parsed.data.metadata["uid"]), input, judged, linux: judged.linux, state };
}

export function clusterView(policies: readonly PolicyView[], nodes: readonly NodeView[]): ClusterView {
  const byName = <T extends { name: string }>(a: T, b: T): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  return { policies: [...policies].sort(byName), nodes: [...nodes].sort(byName) };
}
