import { CoreV1Api, CustomObjectsApi, type KubeConfig, type KubernetesListObject, type KubernetesObject, type V1Node } from "@kubernetes/client-node";
import { API_GROUP, API_VERSION, NODE_STATE_PLURAL } from "../api/v1alpha1/group.js";
import { makeApiClient } from "../kube/client.js";
import { ResilientInformer } from "../kube/informer.js";
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

const NODE_STATES_PATH = `/apis/${API_GROUP}/${API_VERSION}/${NODE_STATE_PLURAL}`;

/**
 * What the webhook judges against: every Node, with its TcpTuningNodeState's probe, from two informers.
 * Requests read the snapshot; nothing here LISTs per request. Synced once both informers have listed.
 */
export class NodeCache {
  readonly index: NodeIndex;
  readonly nodes: ResilientInformer<V1Node>;
  readonly states: ResilientInformer<KubernetesObject>;

  constructor(options: NodeCacheOptions) {
    this.index = new NodeIndex(options.defaultPlacement);
    const core = makeApiClient(options.kubeConfig, CoreV1Api);
    const custom = makeApiClient(options.kubeConfig, CustomObjectsApi);
    const logger = options.logger;
    const backoff = options.backoff ? { backoff: options.backoff } : {};
    this.nodes = new ResilientInformer<V1Node>({
      kubeConfig: options.kubeConfig,
      path: "/api/v1/nodes",
      list: () => core.listNode(),
      logger,
      onAdd: (n) => this.index.upsertNode(n),
      onUpdate: (n) => this.index.upsertNode(n),
      onDelete: (n) => {
        if (n.metadata?.name) this.index.deleteNode(n.metadata.name);
      },
      ...backoff,
    });
    this.states = new ResilientInformer<KubernetesObject>({
      kubeConfig: options.kubeConfig,
      path: NODE_STATES_PATH,
      list: async () => (await custom.listClusterCustomObject({ group: API_GROUP, version: API_VERSION, plural: NODE_STATE_PLURAL })) as KubernetesListObject<KubernetesObject>,
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
    return { synced: this.synced, nodes: this.index.snapshot() };
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
