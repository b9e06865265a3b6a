import { CustomObjectsApi, Watch, type KubeConfig } from "@kubernetes/client-node";
import { API_GROUP, API_GROUP_VERSION, API_VERSION, NODE_STATE_KIND, NODE_STATE_PLURAL } from "../api/v1alpha1/group.js";
import { nodeStateSchema, nodeStateStatusSchema, type NodeState, type NodeStateStatus } from "../api/v1alpha1/node-state.js";
import { describeApiError, isNotFound } from "./api-error.js";
import { applyCustomObjectStatus } from "./apply.js";
import { FIELD_MANAGERS, makeApiClient, type ApiClientOptions } from "./client.js";

/**
 * Get, watch and status-apply one TcpTuningNodeState: what a node's agent needs, and nothing more
 * (its RBAC can be limited to get/list/watch of node states and patch of their status subresource).
 * Events go through EventRecorder (events.ts).
 */

export type WatchPhase = "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";

export class NodeStateClientError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "NodeStateClientError";
  }
}

export interface NodeStateWatch {
  stop(): void;
}

/** How long the apiserver keeps one watch open before it ends it (and the caller re-lists). */
export const WATCH_TIMEOUT_SECONDS = 300;

/**
 * client-node 2.x ends a watch that received nothing for `requestTimeoutMs` (30 s, no public setter;
 * kubernetes-client/javascript#3020, #3022). The apiserver sends bookmarks about once a minute, so an
 * object nobody changes, the normal case for a node's state, had its watch cut every 30 s: a GET and a
 * new watch per node, and a warning in every agent's log. The client's limit is set just past the
 * server's own timeout, so a quiet watch ends when the apiserver ends it; a dead connection is still
 * noticed within that time.
 */
const WATCH_INACTIVITY_MS = (WATCH_TIMEOUT_SECONDS + 30) * 1000;

export class NodeStateClient {
  private readonly custom: CustomObjectsApi;
  private readonly watcher: Watch;

  constructor(kc: KubeConfig, options: ApiClientOptions = {}) {
    this.custom = makeApiClient(kc, CustomObjectsApi, options);
    this.watcher = new Watch(kc);
    (this.watcher as unknown as { requestTimeoutMs: number }).requestTimeoutMs = WATCH_INACTIVITY_MS;
  }

  /** The object, or undefined when it does not exist. */
  async get(name: string): Promise<NodeState | undefined> {
    try {
      const raw: unknown = await this.custom.getClusterCustomObject({ group: API_GROUP, version: API_VERSION, plural: NODE_STATE_PLURAL, name });
      return parseNodeState(raw, name);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw new NodeStateClientError(`get ${NODE_STATE_KIND} ${name}: ${describeApiError(err)}`, { cause: err });
    }
  }

  /**
   * Watches exactly one object (fieldSelector metadata.name=NAME). `onEvent` gets each change;
   * `onDone` is called once when the watch ends (server timeout, error), so the caller re-lists.
   */
  async watch(
    name: string,
    resourceVersion: string | undefined,
    onEvent: (phase: WatchPhase, obj: NodeState | undefined) => void,
    onDone: (err: unknown) => void,
  ): Promise<NodeStateWatch> {
    const path = `/apis/${API_GROUP_VERSION}/${NODE_STATE_PLURAL}`;
    const query: Record<string, string | number | boolean> = {
      fieldSelector: `metadata.name=${name}`,
      allowWatchBookmarks: true,
      timeoutSeconds: WATCH_TIMEOUT_SECONDS,
    };
    if (resourceVersion) query["resourceVersion"] = resourceVersion;
    const controller = await this.watcher.watch(
      path,
      query,
      (phase, obj) => {
        if (phase === "BOOKMARK" || phase === "ERROR") {
          onEvent(phase, undefined);
          return;
        }
        onEvent(phase as WatchPhase, parseNodeState(obj, name));
      },
      onDone,
    );
    return { stop: () => controller.abort() };
  }

  /**
   * Server-side applies the status subresource as the agent (FIELD_MANAGERS.agent, forced: status is the
   * agent's alone). `status` is everything the agent reports: a field or list entry it no longer sends
   * (drift, a key that left spec) is removed. The object must exist (the controller creates it).
   */
  async patchStatus(name: string, status: NodeStateStatus): Promise<NodeState> {
    const body = { apiVersion: API_GROUP_VERSION, kind: NODE_STATE_KIND, metadata: { name }, status: nodeStateStatusSchema.parse(status) };
    try {
      const raw = await applyCustomObjectStatus(this.custom, { group: API_GROUP, version: API_VERSION, plural: NODE_STATE_PLURAL, name }, body, {
        fieldManager: FIELD_MANAGERS.agent,
        force: true,
      });
      return parseNodeState(raw, name);
    } catch (err) {
      // applyCustomObjectStatus's error already says what was applied and what the apiserver answered.
      throw new NodeStateClientError((err as Error).message, { cause: (err as Error).cause ?? err });
    }
  }
}

function parseNodeState(raw: unknown, name: string): NodeState {
  const parsed = nodeStateSchema.safeParse(raw);
  if (!parsed.success) throw new NodeStateClientError(`${NODE_STATE_KIND} ${name} does not match the schema: ${parsed.error.message}`);
  return parsed.data;
}
