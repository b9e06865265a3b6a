import type { NodeState, NodeStateStatus } from "../api/v1alpha1/node-state.js";
import type { Logger } from "../log.js";
import type { NodeStateClient, NodeStateWatch } from "../kube/node-state-client.js";
import type { EventRecorder } from "../kube/events.js";
import { API_GROUP_VERSION, NODE_STATE_KIND } from "../api/v1alpha1/group.js";
import type { AgentBackend, AgentEvent, DesiredState } from "./main.js";
import { Backoff } from "../kube/backoff.js";

/**
 * Desired state from the API server: this node's TcpTuningNodeState only (get, then a watch with
 * fieldSelector metadata.name=NODE_NAME, re-listed whenever the watch ends). Status goes through
 * the status subresource (server-side apply as the agent); Events are events.k8s.io/v1 Events about the
 * object, through the aggregating EventRecorder (a repeat joins the first Event's series).
 *
 * A failed get or watch is retried with exponential backoff and jitter (1 s doubling to 30 s by
 * default), reset once a watch is established: every node of a fleet retrying each second would
 * keep a recovering API server down. Nothing is delivered while the server cannot be read, so an
 * unreachable API server never makes the agent write anything new (it keeps the last desired state).
 */

export interface KubeBackendOptions {
  readonly nodeName: string;
  readonly client: Pick<NodeStateClient, "get" | "watch" | "patchStatus">;
  readonly events: Pick<EventRecorder, "record" | "stop">;
  readonly log: Logger;
  /** Delay before re-listing after a watch that ended normally. */
  readonly rewatchDelayMs?: number;
  /** Backoff after a failed get or watch: doubles from initialMs up to maxMs, +-20 % jitter. */
  readonly backoff?: { readonly initialMs: number; readonly maxMs: number };
  /** [0, 1): the jitter's source (tests pin it). */
  readonly random?: () => number;
}

/** events.k8s.io/v1 asks what was done (action) besides why (reason); by the agent's reasons. */
const EVENT_ACTIONS: Readonly<Record<string, string>> = {
  Applied: "Apply",
  ApplyFailed: "Apply",
  SysctlRefused: "Apply",
  DriftCorrected: "CorrectDrift",
  Restored: "Restore",
  RestoreFailed: "Restore",
  NewBoot: "ReadOriginals",
  OriginalsRecovered: "ReadOriginals",
  AgentError: "Reconcile",
};

export function createKubeBackend(opts: KubeBackendOptions): AgentBackend {
  let stopped = false;
  let watch: NodeStateWatch | undefined;
  let retry: NodeJS.Timeout | undefined;
  let uid: string | undefined;
  let exists = false;
  let deliver: (d: DesiredState) => void = () => undefined;
  const backoff = new Backoff({
    initialMs: opts.backoff?.initialMs ?? 1000,
    maxMs: opts.backoff?.maxMs ?? 30_000,
    jitter: 0.2,
    random: opts.random ?? Math.random,
  });

  /** A node state whose spec names another node was not approved for this one: not delivered. */
  function forThisNode(obj: NodeState): boolean {
    if (obj.spec.nodeName === opts.nodeName) return true;
    opts.log.error(
      { object: obj.metadata.name, node: opts.nodeName, specNodeName: obj.spec.nodeName },
      "node state's spec.nodeName names another node; ignored, keeping the last desired state",
    );
    return false;
  }

  function fromObject(obj: NodeState | undefined): DesiredState {
    if (!obj || obj.metadata.deletionTimestamp) {
      exists = false;
      return { generation: undefined, sysctls: [], deleted: true };
    }
    exists = true;
    uid = obj.metadata.uid;
    return { generation: obj.metadata.generation, sysctls: obj.spec.sysctls ?? [], deleted: false, ...(obj.status ? { status: obj.status } : {}) };
  }

  async function listAndWatch(): Promise<void> {
    if (stopped) return;
    try {
      const obj = await opts.client.get(opts.nodeName);
      if (!obj || obj.metadata.deletionTimestamp || forThisNode(obj)) deliver(fromObject(obj));
      let ended = false;
      watch = await opts.client.watch(
        opts.nodeName,
        obj?.metadata.resourceVersion,
        (phase, o) => {
          if (phase === "DELETED") deliver(fromObject(undefined));
          else if ((phase === "ADDED" || phase === "MODIFIED") && o && (o.metadata.deletionTimestamp || forThisNode(o))) deliver(fromObject(o));
        },
        (err) => {
          ended = true;
          if (stopped) return;
          // client-node ends a watch that stayed quiet past its inactivity limit with a TimeoutError:
          // re-list at once (the get then tells whether the server is really gone).
          if (err && (err as Error).name !== "TimeoutError") {
            opts.log.warn({ err }, "node state watch failed; re-listing");
            scheduleAfterFailure();
          } else {
            schedule(opts.rewatchDelayMs ?? 1000);
          }
        },
      );
      // The watch is established (client-node ends a refused one before it returns).
      if (!ended) backoff.reset();
    } catch (err) {
      opts.log.error({ err, node: opts.nodeName }, "cannot get or watch the node state; retrying");
      scheduleAfterFailure();
    }
  }

  function scheduleAfterFailure(): void {
    schedule(backoff.next());
  }

  function schedule(delayMs: number): void {
    if (stopped) return;
    if (retry) clearTimeout(retry);
    retry = setTimeout(() => void listAndWatch(), delayMs);
  }

  return {
    async start(onDesired) {
      deliver = onDesired;
      await listAndWatch();
    },
    async writeStatus(status: NodeStateStatus) {
      if (!exists) return;
      await opts.client.patchStatus(opts.nodeName, status);
    },
    emitEvent(event: AgentEvent) {
      opts.events.record(
        { apiVersion: API_GROUP_VERSION, kind: NODE_STATE_KIND, name: opts.nodeName, uid },
        { type: event.type, reason: event.reason, action: EVENT_ACTIONS[event.reason] ?? "Reconcile", note: event.message },
      );
      return Promise.resolve();
    },
    async stop() {
      stopped = true;
      if (retry) clearTimeout(retry);
      watch?.stop();
      await opts.events.stop();
    },
  };
}
