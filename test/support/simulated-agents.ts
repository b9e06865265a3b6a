import { CustomObjectsApi, type KubeConfig, type KubernetesListObject, type KubernetesObject } from "@kubernetes/client-node";
import { API_GROUP, API_GROUP_VERSION, API_VERSION, NODE_STATE_KIND, NODE_STATE_PLURAL } from "../../src/api/v1alpha1/group.js";
import {
  COUNTER_HISTORY_MAX,
  nodeStateSchema,
  type CounterSample,
  type HealthCounter,
  type KeyResult,
  type NodeState,
  type NodeStateStatus,
  type OriginalValue,
} from "../../src/api/v1alpha1/node-state.js";
import { applyCustomObjectStatus } from "../../src/kube/apply.js";
import { FIELD_MANAGERS, makeApiClient } from "../../src/kube/client.js";
import { ResilientInformer } from "../../src/kube/informer.js";
import { createLogger } from "../../src/log.js";

/**
 * Agents without kernels, for controller tests at fleet size: for each node it is given, it acts on
 * that node's TcpTuningNodeState as the real agent does (src/agent): reads spec.sysctls, "writes" them
 * into a simulated kernel (recording each key's original before its first change, restoring keys that
 * left the spec), and writes status through the status subresource by server-side apply with the
 * agent's field manager: observedGeneration, probe (kernel release and every simulated key), keys,
 * originals and the Applied/Degraded conditions. A key listed in `fail` is reported Failed and the
 * generation is then applied all or nothing, as the agent does (the others are Pending).
 *
 * With `countersIntervalMs`, each node also has TCP counters that grow at `counterRates(node)` per
 * second (default: flat but for 0.5 ListenOverflows/s), sampled into status.counterHistory every
 * interval as the agent does; a sample is written on its own only for `countersWindowMs` after the
 * node applied a new generation (the agent's --counters-window).
 */

export const DEFAULT_KERNEL_VALUES: Readonly<Record<string, string>> = {
  "net.ipv4.tcp_fin_timeout": "60",
  "net.ipv4.tcp_keepalive_time": "7200",
  "net.ipv4.tcp_tw_reuse": "2",
  "net.ipv4.tcp_timestamps": "1",
  "net.ipv4.ip_local_port_range": "32768 60999",
  "net.ipv4.ip_unprivileged_port_start": "1024",
  "net.core.somaxconn": "4096",
};

export interface SimulatedNode {
  readonly kernelRelease: string;
  /** Current kernel values (changed by the simulation). */
  readonly values: Map<string, string>;
  readonly originals: Map<string, OriginalValue>;
  /** Keys whose write fails. */
  readonly fail: Set<string>;
  /** Status writes made for this node. */
  writes: number;
  /** Cumulative counters and their samples (with countersIntervalMs). */
  counters: Map<HealthCounter, number>;
  history: CounterSample[];
  lastStatus?: NodeStateStatus;
  changedAt: number;
}

export interface SimulatedAgentsOptions {
  readonly countersIntervalMs?: number;
  readonly countersWindowMs?: number;
}

const DEFAULT_RATES: Partial<Record<HealthCounter, number>> = { listenOverflows: 0.5 };

export class SimulatedAgents {
  readonly nodes = new Map<string, SimulatedNode>();
  private readonly informer: ResilientInformer<KubernetesObject>;
  private readonly custom: CustomObjectsApi;
  private readonly busy = new Set<string>();
  private readonly again = new Set<string>();
  /** Status writes in all. */
  writes = 0;
  errors: string[] = [];
  /** Per node, events per second of each counter now (undefined: DEFAULT_RATES). */
  counterRates: ((node: SimulatedNode) => Partial<Record<HealthCounter, number>>) | undefined;
  private countersTimer: NodeJS.Timeout | undefined;
  private lastTick = Date.now();

  constructor(
    kc: KubeConfig,
    private readonly options: SimulatedAgentsOptions = {},
  ) {
    this.custom = makeApiClient(kc, CustomObjectsApi, { timeoutMs: 30_000 });
    const handle = (o: KubernetesObject): void => this.onChange(o);
    this.informer = new ResilientInformer<KubernetesObject>({
      kubeConfig: kc,
      path: `/apis/${API_GROUP}/${API_VERSION}/${NODE_STATE_PLURAL}`,
      list: async () =>
        (await this.custom.listClusterCustomObject({
          group: API_GROUP,
          version: API_VERSION,
          plural: NODE_STATE_PLURAL,
        })) as KubernetesListObject<KubernetesObject>,
      logger: createLogger("simulated-agents", { level: "warn" }),
      onAdd: handle,
      onUpdate: handle,
      onDelete: (o) => this.onDelete(o),
    });
  }

  /** Starts acting for `name` (before or after its node state exists). */
  add(name: string, kernelRelease: string, values: Readonly<Record<string, string>> = DEFAULT_KERNEL_VALUES): SimulatedNode {
    const node: SimulatedNode = {
      kernelRelease,
      values: new Map(Object.entries(values)),
      originals: new Map(),
      fail: new Set(),
      writes: 0,
      counters: new Map(),
      history: [],
      changedAt: 0,
    };
    this.nodes.set(name, node);
    const existing = this.informer.get(name);
    if (existing) this.onChange(existing);
    return node;
  }

  async start(): Promise<void> {
    this.informer.start();
    await this.informer.waitForSync(60_000);
    if (this.options.countersIntervalMs) {
      this.lastTick = Date.now();
      this.countersTimer = setInterval(() => void this.sampleCounters(), this.options.countersIntervalMs);
    }
  }

  async stop(): Promise<void> {
    if (this.countersTimer) clearInterval(this.countersTimer);
    await this.informer.stop();
  }

  /** Every interval: counters grow, a sample joins each node's history; recently changed nodes write it. */
  private async sampleCounters(): Promise<void> {
    const now = Date.now();
    const dt = (now - this.lastTick) / 1000;
    this.lastTick = now;
    const sampledAt = new Date(now).toISOString();
    const writes: Promise<void>[] = [];
    for (const [name, node] of this.nodes) {
      const rates = this.counterRates?.(node) ?? DEFAULT_RATES;
      for (const c of ["listenOverflows", "listenDrops", "tcpAbortOnTimeout", "attemptFails"] as const)
        node.counters.set(c, (node.counters.get(c) ?? 0) + (rates[c] ?? 0) * dt);
      const sample: CounterSample = { sampledAt, bootId: "simulated" };
      for (const [c, v] of node.counters) sample[c] = String(Math.floor(v));
      node.history = [...node.history, sample].slice(-COUNTER_HISTORY_MAX);
      if (node.lastStatus && now - node.changedAt <= (this.options.countersWindowMs ?? 0) && !this.busy.has(name)) {
        // One write at a time per node, as the agent's queue does: a counters write must not land
        // after (and undo) the status of a newer generation.
        this.busy.add(name);
        writes.push(
          this.writeStatus(name, node, { ...node.lastStatus, counterHistory: node.history })
            .catch((err: unknown) => void this.errors.push(`${name}: ${(err as Error).message}`))
            .finally(() => {
              this.busy.delete(name);
              if (this.again.delete(name)) {
                const latest = this.informer.get(name);
                if (latest) this.onChange(latest);
              }
            }),
        );
      }
    }
    await Promise.all(writes);
  }

  private async writeStatus(name: string, node: SimulatedNode, status: NodeStateStatus): Promise<void> {
    await applyCustomObjectStatus(
      this.custom,
      { group: API_GROUP, version: API_VERSION, plural: NODE_STATE_PLURAL, name },
      { apiVersion: API_GROUP_VERSION, kind: NODE_STATE_KIND, metadata: { name }, status },
      { fieldManager: FIELD_MANAGERS.agent, force: true },
    );
    node.lastStatus = status;
    node.writes++;
    this.writes++;
  }

  /** The simulated kernel's value of a key on a node. */
  value(node: string, key: string): string | undefined {
    return this.nodes.get(node)?.values.get(key);
  }

  private onDelete(o: KubernetesObject): void {
    const node = this.nodes.get(o.metadata?.name ?? "");
    if (!node) return;
    // The agent restores everything when its node state is deleted.
    for (const [name, original] of node.originals) node.values.set(name, original.value);
    node.originals.clear();
  }

  private onChange(o: KubernetesObject): void {
    const name = o.metadata?.name ?? "";
    if (!this.nodes.has(name)) return;
    if (this.busy.has(name)) {
      this.again.add(name);
      return;
    }
    this.busy.add(name);
    void this.reconcile(name)
      .catch((err: unknown) => this.errors.push(`${name}: ${(err as Error).message}`))
      .finally(() => {
        this.busy.delete(name);
        if (this.again.delete(name)) {
          const latest = this.informer.get(name);
          if (latest) this.onChange(latest);
        }
      });
  }

  private async reconcile(name: string): Promise<void> {
    const raw = this.informer.get(name);
    const node = this.nodes.get(name);
    if (!raw || !node) return;
    const parsed = nodeStateSchema.safeParse(raw);
    if (!parsed.success) return;
    const state: NodeState = parsed.data;
    if (state.metadata.deletionTimestamp) return;
    const generation = state.metadata.generation ?? 0;
    if (state.status?.observedGeneration === generation && state.status.probe) return;
    const desired = state.spec.sysctls ?? [];
    const desiredNames = new Set(desired.map((d) => d.name));
    const keys: KeyResult[] = [];
    const now = new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
    for (const [key, original] of [...node.originals]) {
      if (desiredNames.has(key)) continue;
      node.values.set(key, original.value);
      node.originals.delete(key);
      keys.push({ name: key, desired: original.value, actual: original.value, result: "Restored" });
    }
    const failing = desired.filter((d) => node.fail.has(d.name) || !node.values.has(d.name));
    for (const d of desired) {
      if (failing.length > 0) {
        const own = failing.includes(d);
        keys.push({
          name: d.name,
          desired: d.value,
          result: own ? "Failed" : "Pending",
          message: own ? `simulated failure writing ${d.name}` : `not applied: ${failing[0]?.name} failed in this pass`,
        });
        continue;
      }
      if (!node.originals.has(d.name)) node.originals.set(d.name, { name: d.name, value: node.values.get(d.name) ?? "", recordedAt: now });
      node.values.set(d.name, d.value.trim().split(/\s+/).join(" "));
      keys.push({ name: d.name, desired: d.value, actual: node.values.get(d.name), result: "Applied" });
    }
    const applied = failing.length === 0;
    const previous = state.status?.conditions ?? [];
    const since = (type: string, status: string): string => previous.find((c) => c.type === type && c.status === status)?.lastTransitionTime ?? now;
    const status: NodeStateStatus = {
      observedGeneration: generation,
      probe: { kernelRelease: node.kernelRelease, probedAt: now, keys: [...node.values].map(([k, v]) => ({ name: k, present: true, value: v })) },
      keys,
      originals: [...node.originals.values()],
      conditions: [
        {
          type: "Applied",
          status: applied ? "True" : "False",
          reason: applied ? "AllKeysApplied" : "ApplyFailed",
          message: applied ? `${desired.length} desired sysctl(s) in effect` : "a key failed",
          observedGeneration: generation,
          lastTransitionTime: since("Applied", applied ? "True" : "False"),
        },
        {
          type: "Degraded",
          status: applied ? "False" : "True",
          reason: applied ? "AsDesired" : "ApplyFailed",
          message: applied ? "no key failed" : "a key failed",
          observedGeneration: generation,
          lastTransitionTime: since("Degraded", applied ? "False" : "True"),
        },
      ],
    };
    if (node.history.length > 0) status.counterHistory = node.history;
    node.changedAt = Date.now();
    await this.writeStatus(name, node, status);
  }
}
