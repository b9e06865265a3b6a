import type { NodeState, NodeStateStatus } from "../api/node-state.js";
import type { Logger } from "../log.js";
import type { NodeStateClient, NodeStateWatch } from "../kube/node-state-client.js";
import type { AgentBackend, AgentEvent, DesiredState } from "./main.js";

/**
 * Desired state from the API server: this node's TcpTuningNodeState only (get, then a watch with
 * fieldSelector metadata.name=NODE_NAME, re-listed whenever the watch ends). Status goes through
 * the status subresource; Events are core/v1 Events about the object.
 */

export interface KubeBackendOptions {
  readonly nodeName: string;
  readonly client: NodeStateClient;
  readonly log: Logger;
  readonly rewatchDelayMs?: number;
}

export function createKubeBackend(opts: KubeBackendOptions): AgentBackend {
  let stopped = false;
  let watch: NodeStateWatch | undefined;
  let retry: NodeJS.Timeout | undefined;
  let uid: string | undefined;
  let exists = false;
  let deliver: (d: DesiredState) => void = () => undefined;

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
      deliver(fromObject(obj));
      watch = await opts.client.watch(
        opts.nodeName,
        obj?.metadata.resourceVersion,
        (phase, o) => {
          if (phase === "DELETED") deliver(fromObject(undefined));
          else if ((phase === "ADDED" || phase === "MODIFIED") && o) deliver(fromObject(o));
        },
        (err) => {
          if (stopped) return;
          if (err) opts.log.warn({ err }, "node state watch ended; re-listing");
          schedule();
        },
      );
    } catch (err) {
      opts.log.error({ err, node: opts.nodeName }, "cannot get or watch the node state; retrying");
      schedule();
    }
  }

  function schedule(): void {
    if (stopped) return;
    retry = setTimeout(() => void listAndWatch(), opts.rewatchDelayMs ?? 1000);
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
    async emitEvent(event: AgentEvent) {
      await opts.client.emitEvent({ name: opts.nodeName, uid }, event, "tcp-tuning-agent", opts.nodeName);
    },
    async stop() {
      stopped = true;
      if (retry) clearTimeout(retry);
      watch?.stop();
    },
  };
}
