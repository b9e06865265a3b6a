import { CoreV1Api, CustomObjectsApi, type KubeConfig, type KubernetesListObject, type KubernetesObject, type V1Node } from "@kubernetes/client-node";
import { API_GROUP, API_VERSION, NODE_STATE_PLURAL, POLICY_PLURAL } from "../api/v1alpha1/group.js";
import { makeApiClient } from "../kube/client.js";
import { ResilientInformer } from "../kube/informer.js";
import type { Logger } from "../log.js";
import type { DefaultPlacement } from "../rules/index.js";
import { clusterView, nodeStateView, nodeView, policyView, type ClusterView, type NodeView, type PolicyView } from "./cluster-view.js";

/**
 * The controller's three informers: TcpTuningPolicy, Node (a projection: name, uid, labels, kernel
 * and OS, nothing else of a Node is kept) and TcpTuningNodeState. `view()` digests what they hold
 * into the pure computation's input; a policy or node is prepared again only when it changed.
 */

/** What the controller keeps of a Node. */
export interface NodeProjection extends KubernetesObject {
  readonly status?: { readonly nodeInfo?: { readonly kernelVersion?: string; readonly operatingSystem?: string } };
}

export function projectNode(n: V1Node): NodeProjection {
  const info = n.status?.nodeInfo;
  const labels = n.metadata?.labels;
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: { name: n.metadata?.name ?? "", ...(labels ? { labels } : {}) },
    status: {
      nodeInfo: {
        ...(info?.kernelVersion !== undefined ? { kernelVersion: info.kernelVersion } : {}),
        ...(info?.operatingSystem !== undefined ? { operatingSystem: info.operatingSystem } : {}),
      },
    },
  };
}

export interface ClusterCacheOptions {
  readonly kubeConfig: KubeConfig;
  readonly logger: Logger;
  readonly apiTimeoutMs: number;
  readonly defaultPlacement?: DefaultPlacement;
  /** Called after any change in any of the three collections. */
  readonly onChange: (what: "policy" | "node" | "state", name: string) => void;
}

const rv = (o: KubernetesObject): string => `${o.metadata?.uid ?? ""}/${o.metadata?.resourceVersion ?? ""}`;

export class ClusterCache {
  readonly policies: ResilientInformer<KubernetesObject>;
  readonly nodes: ResilientInformer<V1Node, NodeProjection>;
  readonly states: ResilientInformer<KubernetesObject>;
  /** Digested policies and nodes, keyed by name, with the version they were digested from. */
  private readonly policyViews = new Map<string, { version: string; view: PolicyView }>();
  private readonly nodeViews = new Map<string, { version: string; view: NodeView }>();

  constructor(private readonly options: ClusterCacheOptions) {
    const core = makeApiClient(options.kubeConfig, CoreV1Api, { timeoutMs: options.apiTimeoutMs });
    const custom = makeApiClient(options.kubeConfig, CustomObjectsApi, { timeoutMs: options.apiTimeoutMs });
    const logger = options.logger;
    const changed = (what: "policy" | "node" | "state") => (o: KubernetesObject) => options.onChange(what, o.metadata?.name ?? "");
    const custom$ = (plural: string) => async () =>
      (await custom.listClusterCustomObject({ group: API_GROUP, version: API_VERSION, plural })) as KubernetesListObject<KubernetesObject>;
    this.policies = new ResilientInformer<KubernetesObject>({
      kubeConfig: options.kubeConfig,
      path: `/apis/${API_GROUP}/${API_VERSION}/${POLICY_PLURAL}`,
      list: custom$(POLICY_PLURAL),
      logger,
      onAdd: changed("policy"),
      onUpdate: changed("policy"),
      onDelete: changed("policy"),
    });
    this.nodes = new ResilientInformer<V1Node, NodeProjection>({
      kubeConfig: options.kubeConfig,
      path: "/api/v1/nodes",
      list: () => core.listNode(),
      transform: projectNode,
      logger,
      onAdd: changed("node"),
      onUpdate: changed("node"),
      onDelete: changed("node"),
    });
    this.states = new ResilientInformer<KubernetesObject>({
      kubeConfig: options.kubeConfig,
      path: `/apis/${API_GROUP}/${API_VERSION}/${NODE_STATE_PLURAL}`,
      list: custom$(NODE_STATE_PLURAL),
      logger,
      onAdd: changed("state"),
      onUpdate: changed("state"),
      onDelete: changed("state"),
    });
  }

  get synced(): boolean {
    return this.policies.synced && this.nodes.synced && this.states.synced;
  }

  start(): void {
    this.policies.start();
    this.nodes.start();
    this.states.start();
  }

  async waitForSync(timeoutMs: number): Promise<void> {
    await Promise.all([this.policies.waitForSync(timeoutMs), this.nodes.waitForSync(timeoutMs), this.states.waitForSync(timeoutMs)]);
  }

  async stop(): Promise<void> {
    await Promise.all([this.policies.stop(), this.nodes.stop(), this.states.stop()]);
  }

  /** Everything the computation needs, as it is in the caches now. */
  view(): ClusterView {
    const policies: PolicyView[] = [];
    const seenPolicies = new Set<string>();
    for (const p of this.policies.list()) {
      const name = p.metadata?.name;
      if (!name) continue;
      seenPolicies.add(name);
      const version = rv(p);
      let entry = this.policyViews.get(name);
      if (entry?.version !== version) {
        entry = { version, view: policyView(p) };
        this.policyViews.set(name, entry);
      }
      policies.push(entry.view);
    }
    for (const name of this.policyViews.keys()) if (!seenPolicies.has(name)) this.policyViews.delete(name);

    const nodes: NodeView[] = [];
    const seenNodes = new Set<string>();
    for (const n of this.nodes.list()) {
      const name = n.metadata?.name;
      if (!name) continue;
      seenNodes.add(name);
      const state = this.states.get(name);
      const version = `${rv(n)}|${state ? rv(state) : "-"}`;
      let entry = this.nodeViews.get(name);
      if (entry?.version !== version) {
        const view = nodeView(n, state ? nodeStateView(state) : undefined, this.options.defaultPlacement);
        if (!view) continue;
        entry = { version, view };
        this.nodeViews.set(name, entry);
      }
      nodes.push(entry.view);
    }
    for (const name of this.nodeViews.keys()) if (!seenNodes.has(name)) this.nodeViews.delete(name);
    return clusterView(policies, nodes);
  }
}
