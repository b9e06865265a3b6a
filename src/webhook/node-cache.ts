import type { KubeConfig, KubernetesObject } from "@kubernetes/client-node";
import { API_GROUP, API_VERSION, NODE_STATE_PLURAL } from "../api/v1alpha1/group.js";
import { apiConfiguration } from "../kube/client.js";
import { ResilientInformer } from "../kube/informer.js";
import { listAllPages } from "../kube/list-pages.js";
import { rawListPage } from "../kube/raw-list.js";
import type { Logger } from "../log.js";
import type { DefaultPlacement } from "../rules/index.js";
import type { NodeSnapshot } from "./admission.js";
import { NodeIndex } from "./node-index.js";

export interface NodeCacheOptions {
  readonly kubeConfig: KubeConfig;
  readonly logger: Logger;
  readonly defaultPlacement?: DefaultPlacement;
  readonly backoff?: { readonly initialMs: number; readonly maxMs: number };
}

const NODES_PATH = "/api/v1/nodes";
/** rawListPage projects as it reads: listAllPages keeps its items as they are. */
const keep = <S>(item: S): S => item;
const NODE_STATES_PATH = `/apis/${API_GROUP}/${API_VERSION}/${NODE_STATE_PLURAL}`;

/** What the webhook keeps of a Node: the fields the engine reads (a whole Node is 10 to 30 KB of images and conditions). */
export interface ProjectedNode extends KubernetesObject {
  readonly status?: { readonly nodeInfo?: { readonly kernelVersion?: string; readonly operatingSystem?: string } };
}

/** What the webhook keeps of a TcpTuningNodeState: which node, and the agent's probe. */
export interface ProjectedNodeState extends KubernetesObject {
  readonly spec?: { readonly nodeName?: unknown };
  readonly status?: { readonly probe?: unknown };
}

function keptMetadata(m: KubernetesObject["metadata"]): NonNullable<KubernetesObject["metadata"]> {
  const out: NonNullable<KubernetesObject["metadata"]> = {};
  if (m?.name !== undefined) out.name = m.name;
  if (m?.uid !== undefined) out.uid = m.uid;
  if (m?.resourceVersion !== undefined) out.resourceVersion = m.resourceVersion;
  return out;
}

/** The parts of a Node projectNode reads: a whole V1Node, or an already projected one. */
type NodeLike = KubernetesObject & { status?: { nodeInfo?: { kernelVersion?: string; operatingSystem?: string } } };

/** A Node reduced to name, uid, resourceVersion, labels, kernel version and OS (projecting twice changes nothing). */
export function projectNode(node: NodeLike): ProjectedNode {
  const metadata = keptMetadata(node.metadata);
  if (node.metadata?.labels) metadata.labels = node.metadata.labels;
  const info = node.status?.nodeInfo;
  const nodeInfo: { kernelVersion?: string; operatingSystem?: string } = {};
  if (info?.kernelVersion !== undefined) nodeInfo.kernelVersion = info.kernelVersion;
  if (info?.operatingSystem !== undefined) nodeInfo.operatingSystem = info.operatingSystem;
  return { apiVersion: "v1", kind: "Node", metadata, status: { nodeInfo } };
}

/** A TcpTuningNodeState reduced to its node's name and its probe (the applied values and conditions are not read here). */
export function projectNodeState(state: KubernetesObject & { spec?: { nodeName?: unknown }; status?: { probe?: unknown } }): ProjectedNodeState {
  const out: { -readonly [K in keyof ProjectedNodeState]: ProjectedNodeState[K] } = {
    apiVersion: state.apiVersion,
    kind: state.kind,
    metadata: keptMetadata(state.metadata),
  };
  if (state.spec && "nodeName" in state.spec) out.spec = { nodeName: state.spec.nodeName };
  if (state.status?.probe !== undefined) out.status = { probe: state.status.probe };
  return out;
}

/**
 * What the webhook judges against: every Node, with its TcpTuningNodeState's probe, from two informers.
 * Requests read the snapshot; nothing here LISTs per request. Synced once both informers have listed.
 */
export class NodeCache {
  readonly index: NodeIndex;
  readonly nodes: ResilientInformer<NodeLike, ProjectedNode>;
  readonly states: ResilientInformer<KubernetesObject, ProjectedNodeState>;

  constructor(options: NodeCacheOptions) {
    this.index = new NodeIndex(options.defaultPlacement);
    // Both collections are listed raw (raw-list.ts), each item parsed and projected as it arrives, not
    // through client-node's model classes: a page of whole Nodes turned into class instances grew the
    // heap far beyond what the cache holds, and V8 kept it.
    const api = apiConfiguration(options.kubeConfig);
    const logger = options.logger;
    const backoff = options.backoff ? { backoff: options.backoff } : {};
    // Listed page by page and projected as they are read, watched objects projected on arrival (the
    // informer's transform): neither a LIST nor the informer's store holds whole Nodes.
    this.nodes = new ResilientInformer<NodeLike, ProjectedNode>({
      kubeConfig: options.kubeConfig,
      path: NODES_PATH,
      list: () => listAllPages(rawListPage(api, NODES_PATH, projectNode), keep),
      transform: projectNode,
      logger,
      onAdd: (n) => this.index.upsertNode(n),
      onUpdate: (n) => this.index.upsertNode(n),
      onDelete: (n) => {
        if (n.metadata?.name) this.index.deleteNode(n.metadata.name);
      },
      ...backoff,
    });
    this.states = new ResilientInformer<KubernetesObject, ProjectedNodeState>({
      kubeConfig: options.kubeConfig,
      path: NODE_STATES_PATH,
      transform: projectNodeState,
      list: () => listAllPages(rawListPage(api, NODE_STATES_PATH, projectNodeState), keep),
      logger,
      onAdd: (s) => this.index.upsertState(s),
      onUpdate: (s) => this.index.upsertState(s),
      onDelete: (s) => this.index.deleteState(s),
      ...backoff,
    });
  }

  get synced(): boolean {
    return this.nodes.synced && this.states.synced;
  }

  snapshot(): NodeSnapshot {
    const index = this.index;
    return { synced: this.synced, select: (policy) => index.select(policy) };
  }

  start(): void {
    this.nodes.start();
    this.states.start();
  }

  async waitForSync(timeoutMs: number): Promise<void> {
    await Promise.all([this.nodes.waitForSync(timeoutMs), this.states.waitForSync(timeoutMs)]);
  }

  async stop(): Promise<void> {
    await Promise.all([this.nodes.stop(), this.states.stop()]);
  }
}
