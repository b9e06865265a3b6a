import { isDeepStrictEqual } from "node:util";
import { CustomObjectsApi, EventsV1Api, type KubeConfig, type KubernetesObject } from "@kubernetes/client-node";
import { API_GROUP, API_GROUP_VERSION, API_VERSION, NODE_STATE_KIND, NODE_STATE_PLURAL, POLICY_KIND, POLICY_PLURAL } from "../api/v1alpha1/group.js";
import type { DesiredSysctl } from "../api/v1alpha1/node-state.js";
import type { PolicyStatus } from "../api/v1alpha1/policy.js";
import type { RolloutStatus } from "../api/v1alpha1/rollout-status.js";
import { isConflict, isNotFound } from "../kube/api-error.js";
import { mergePatch } from "../kube/patch.js";
import { applyCustomObject, applyCustomObjectStatus } from "../kube/apply.js";
import { FIELD_MANAGERS, makeApiClient } from "../kube/client.js";
import { EventRecorder } from "../kube/events.js";
import { runWorkers, WorkQueue } from "../kube/work-queue.js";
import type { Logger } from "../log.js";
import type { ControllerMetrics } from "../metrics/index.js";
import type { DefaultPlacement } from "../rules/index.js";
import { ClusterCache } from "./cluster-cache.js";
import { nodeStateView, type ClusterView } from "./cluster-view.js";
import { planCluster, type ClusterPlan, type EventIntent } from "./cluster-plan.js";
import { nodeStateApplyBody, nodeStateUpToDate } from "./node-state-spec.js";
import type { RolloutGate } from "./rollout-gate.js";
import { createGradualGate } from "./rollout/gradual-gate.js";
import { releaseRecorded } from "./rollout/wave-journal.js";

/**
 * The controller process's reconciler: informers in, server-side applies out.
 *
 * Every change (policy, Node, node state) and every resync queues the key "sync": one pass computes
 * the whole ClusterPlan from the caches (pure, cluster-plan.ts) and queues "node/NAME" for each node
 * state whose spec differs from the plan and "policy/NAME" for each status that differs. Those keys
 * are applied one by one by the workers, each compared again right before its write, so an
 * unchanged cluster costs no write at all. A node state that enters a rollout's wave waits until
 * the policy status naming that wave is written (rollout/wave-journal.ts), so a leader that dies in
 * between never leaves changed nodes no recorded wave holds. The queue de-duplicates keys and
 * retries failures with backoff. Only the leader writes; a standby keeps its caches warm and takes over within the lease
 * duration.
 */

export interface ReconcilerOptions {
  readonly kubeConfig: KubeConfig;
  readonly logger: Logger;
  /** reportingInstance of Events: the pod or host name. */
  readonly identity: string;
  readonly apiTimeoutMs: number;
  readonly concurrency: number;
  readonly resyncMs: number;
  readonly defaultPlacement?: DefaultPlacement;
  readonly gate?: RolloutGate;
  /** Called with every plan computed (tests, metrics). */
  readonly onPlan?: (plan: ClusterPlan) => void;
  /** Reconcile durations, retries, queue depth, leadership and rollout progress (Prometheus). */
  readonly metrics?: ControllerMetrics;
}

type Key = "sync" | `node/${string}` | `policy/${string}` | `finalizer/${string}`;

/** What this process wrote last for an object, so a cache that has not caught up yet causes no second write. */
interface Written<T> {
  readonly resourceVersion: string | undefined;
  readonly value: T;
}

const EVENTS_NAMESPACE = "default";
const MIN_PASS_INTERVAL_MS = 250;
/** Event-triggered passes take at most about 1 / (1 + PASS_SHARE) of the time: the rest is the writes', the informers' and the Lease's. */
const PASS_SHARE = 3;

/** The least time between two event-triggered passes, given the last pass's duration. */
export function passInterval(lastPassMs: number): number {
  return Math.max(MIN_PASS_INTERVAL_MS, PASS_SHARE * lastPassMs);
}

function newerOrEqual(a: string | undefined, b: string | undefined): boolean {
  if (a === undefined || b === undefined) return false;
  try {
    return BigInt(a) >= BigInt(b);
  } catch {
    return a === b;
  }
}

/** A JSON round trip: what the apiserver would store (no undefined fields). */
const plain = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

/** A Linux node's state as its agent reports it: NoState, Pending, Applied, Drifted or Degraded. */
function nodeStateOf(node: ClusterView["nodes"][number]): string {
  if (!node.state) return "NoState";
  const conditions = node.state.object.status?.conditions ?? [];
  const is = (type: string): boolean => conditions.some((c) => c.type === type && c.status === "True");
  if (is("Degraded")) return "Degraded";
  if (is("Drifted")) return "Drifted";
  return is("Applied") ? "Applied" : "Pending";
}

/** Rollout progress per policy (its status counts) and the fleet's Linux nodes by state. */
function recordPlan(metrics: ControllerMetrics, plan: ClusterPlan, view: ClusterView): void {
  for (const [name, status] of plan.statuses) {
    const n = status.nodes;
    if (n) metrics.setPolicyProgress(name, { Applied: n.applied, Pending: n.pending, Failed: n.failed, Rejected: n.rejected });
  }
  metrics.forgetPoliciesExcept(new Set(plan.statuses.keys()));
  const states: Record<string, number> = {};
  for (const node of view.nodes) if (node.linux) states[nodeStateOf(node)] = (states[nodeStateOf(node)] ?? 0) + 1;
  metrics.setNodeStates(states);
}

export class Reconciler {
  readonly cache: ClusterCache;
  private readonly queue = new WorkQueue<Key>({ backoff: { initialMs: 200, maxMs: 60_000 } });
  private readonly custom: CustomObjectsApi;
  private readonly events: EventRecorder;
  private readonly gate: RolloutGate;
  private plan: ClusterPlan | undefined;
  private leading = false;
  private emitted = new Set<string>();
  private readonly writtenSpecs = new Map<string, Written<readonly DesiredSysctl[]>>();
  private readonly writtenStatuses = new Map<string, Written<PolicyStatus>>();
  private resyncTimer: NodeJS.Timeout | undefined;
  private workers: Promise<void> | undefined;
  /** Writes sent (node state applies, status applies): for logs and tests. */
  readonly writes = { nodeStates: 0, statuses: 0 };
  passes = 0;
  private lastPassAt = -Infinity;
  /** How long the last pass took to compute its plan (the whole cluster), for passInterval(). */
  private lastPassMs = 0;

  constructor(private readonly options: ReconcilerOptions) {
    this.custom = makeApiClient(options.kubeConfig, CustomObjectsApi, { timeoutMs: options.apiTimeoutMs });
    this.events = new EventRecorder({
      api: makeApiClient(options.kubeConfig, EventsV1Api, { timeoutMs: options.apiTimeoutMs }),
      controller: "tcptuning.io/controller",
      instance: options.identity,
      logger: options.logger,
    });
    this.gate = options.gate ?? createGradualGate();
    this.cache = new ClusterCache({
      kubeConfig: options.kubeConfig,
      logger: options.logger,
      apiTimeoutMs: options.apiTimeoutMs,
      ...(options.defaultPlacement ? { defaultPlacement: options.defaultPlacement } : {}),
      onChange: () => {
        if (this.cache.synced) this.requestSync();
      },
    });
  }

  /** Starts the informers and the workers; resolves once the caches hold every object. */
  async start(syncTimeoutMs: number): Promise<void> {
    this.cache.start();
    await this.cache.waitForSync(syncTimeoutMs);
    this.workers = runWorkers(this.queue, this.options.concurrency, (key) => this.handle(key), this.options.logger, "controller");
    this.resyncTimer = setInterval(() => this.queue.add("sync"), this.options.resyncMs);
    this.resyncTimer.unref();
    this.queue.add("sync");
  }

  /** Leadership: only the leader writes. On becoming leader everything is compared afresh. */
  async setLeading(leading: boolean): Promise<void> {
    this.options.metrics?.leader.set(leading ? 1 : 0);
    if (leading && !this.leading) {
      this.emitted = await this.existingEvents();
      this.gate.reset?.();
      this.leading = true;
      this.queue.add("sync");
    } else if (!leading) {
      this.leading = false;
    }
  }

  get isLeading(): boolean {
    return this.leading;
  }

  /** The last computed plan (tests, the plan command). */
  get lastPlan(): ClusterPlan | undefined {
    return this.plan;
  }

  async stop(): Promise<void> {
    if (this.resyncTimer) clearInterval(this.resyncTimer);
    await this.queue.shutDown();
    await this.workers;
    await this.events.stop();
    await this.cache.stop();
  }

  private async handle(key: Key): Promise<void> {
    const metrics = this.options.metrics;
    if (!metrics) return this.dispatch(key);
    metrics.queueDepth.set({ controller: "controller" }, this.queue.length);
    const kind = key === "sync" ? "sync" : key.startsWith("node/") ? "node-state" : "policy-status";
    await metrics.observeReconcile(kind, () => this.dispatch(key));
  }

  private async dispatch(key: Key): Promise<void> {
    if (key === "sync") return this.sync();
    if (!this.leading) return;
    if (key.startsWith("node/")) return this.applyNodeState(key.slice(5));
    if (key.startsWith("finalizer/")) return this.updateFinalizers(key.slice(10));
    return this.applyPolicyStatus(key.slice(7));
  }

  /**
   * A pass recomputes the whole cluster, so changes that arrive in a burst (every agent's status
   * write, a relabelling of many Nodes) are folded into at most one pass per passInterval(): 250 ms,
   * or PASS_SHARE times the last pass's own duration when that is longer. On a large cluster under a
   * stream of status writes, back-to-back passes would otherwise take the whole event loop, which the
   * writes and the Lease renewals share (measured at 5,000 nodes: 31x the CPU of 500 nodes, and a
   * Lease lost).
   */
  private requestSync(): void {
    const since = performance.now() - this.lastPassAt;
    const interval = passInterval(this.lastPassMs);
    if (since >= interval) this.queue.add("sync");
    else this.queue.addAfter("sync", interval - since);
  }

  private sync(): void {
    const started = performance.now();
    this.lastPassAt = started;
    const view = this.cache.view();
    const plan = planCluster(view, this.gate, new Date());
    this.lastPassMs = performance.now() - started;
    this.plan = plan;
    this.passes++;
    this.options.onPlan?.(plan);
    if (this.options.metrics) recordPlan(this.options.metrics, plan, view);
    if (plan.requeueAfterMs !== undefined) this.queue.addAfter("sync", plan.requeueAfterMs);
    if (!this.leading) return;
    let queued = 0;
    for (const [name, n] of plan.nodes) {
      if (!this.specUpToDate(name, n.uid, n.spec) && this.waveRecorded(name, n.spec)) {
        this.queue.add(`node/${name}`);
        queued++;
      }
    }
    for (const [name, status] of plan.statuses) {
      if (!this.statusUpToDate(name, status)) {
        this.queue.add(`policy/${name}`);
        queued++;
      }
    }
    for (const f of plan.finalizers) {
      this.queue.add(`finalizer/${f.policy}`);
      queued++;
    }
    this.emitEvents(plan.events);
    this.options.logger.debug(
      { controller: "controller", nodes: plan.nodes.size, policies: plan.statuses.size, queued, ms: Math.round(performance.now() - started) },
      "computed desired state",
    );
  }

  /** The node state as this process knows it best: the cache, or its own last write if the cache is behind. */
  private specUpToDate(name: string, uid: string | undefined, spec: readonly DesiredSysctl[]): boolean {
    const cached = this.cache.states.get(name);
    const view = cached ? nodeStateView(cached) : undefined;
    const written = this.writtenSpecs.get(name);
    if (written && (!view || !newerOrEqual(view.resourceVersion, written.resourceVersion))) {
      return isDeepStrictEqual(plain(written.value), plain(spec));
    }
    return nodeStateUpToDate(view?.object, { name, uid }, spec);
  }

  private statusUpToDate(name: string, status: PolicyStatus): boolean {
    const cached = this.cache.policies.get(name) as (KubernetesObject & { status?: unknown }) | undefined;
    if (!cached) return true; // deleted meanwhile: its status is moot
    return isDeepStrictEqual(plain(this.recordedStatus(name) ?? {}), plain(status));
  }

  /** A policy's status as the cluster holds it: the cache, or this process's last write if the cache is behind. */
  private recordedStatus(name: string): unknown {
    const cached = this.cache.policies.get(name) as (KubernetesObject & { status?: unknown }) | undefined;
    const written = this.writtenStatuses.get(name);
    return written && !newerOrEqual(cached?.metadata?.resourceVersion, written.resourceVersion) ? written.value : cached?.status;
  }

  /** A node state's spec.sysctls as the cluster holds it (the same rule). */
  private recordedSpec(name: string): readonly DesiredSysctl[] | undefined {
    const cached = this.cache.states.get(name);
    const view = cached ? nodeStateView(cached) : undefined;
    const written = this.writtenSpecs.get(name);
    if (written && (!view || !newerOrEqual(view.resourceVersion, written.resourceVersion))) return written.value;
    return view?.object.spec.sysctls;
  }

  /** Write-ahead (rollout/wave-journal.ts): a node enters a wave only once the status naming it is written. */
  private waveRecorded(name: string, spec: readonly DesiredSysctl[]): boolean {
    return releaseRecorded({
      node: name,
      current: this.recordedSpec(name),
      next: spec,
      planned: (policy) => this.plan?.statuses.get(policy)?.rollout,
      recorded: (policy) => (this.recordedStatus(policy) as { rollout?: RolloutStatus } | undefined)?.rollout,
    });
  }

  private async applyNodeState(name: string): Promise<void> {
    const n = this.plan?.nodes.get(name);
    if (!n || this.specUpToDate(name, n.uid, n.spec) || !this.waveRecorded(name, n.spec)) return;
    const body = nodeStateApplyBody({ name, uid: n.uid }, n.spec);
    const result = (await applyCustomObject(this.custom, { group: API_GROUP, version: API_VERSION, plural: NODE_STATE_PLURAL, name }, body as never, {
      fieldManager: FIELD_MANAGERS.controller,
      force: true,
    })) as KubernetesObject;
    this.writes.nodeStates++;
    this.writtenSpecs.set(name, { resourceVersion: result.metadata?.resourceVersion, value: n.spec });
    this.options.logger.info(
      { controller: "controller", node: name, object: `${NODE_STATE_KIND}/${name}`, sysctls: n.spec.length, generation: result.metadata?.generation },
      "applied node state",
    );
  }

  private async applyPolicyStatus(name: string): Promise<void> {
    const status = this.plan?.statuses.get(name);
    if (!status || this.statusUpToDate(name, status)) return;
    const body = { apiVersion: API_GROUP_VERSION, kind: POLICY_KIND, metadata: { name }, status };
    try {
      const result = (await applyCustomObjectStatus(this.custom, { group: API_GROUP, version: API_VERSION, plural: POLICY_PLURAL, name }, body, {
        fieldManager: FIELD_MANAGERS.controller,
        force: true,
      })) as KubernetesObject;
      this.writes.statuses++;
      this.writtenStatuses.set(name, { resourceVersion: result.metadata?.resourceVersion, value: status });
      // The node states of a wave this status records may be written now.
      this.requestSync();
      const ready = status.conditions?.find((c) => c.type === "Ready");
      this.options.logger.info(
        { controller: "controller", policy: name, nodes: status.nodes, ready: ready?.status, reason: ready?.reason },
        "updated policy status",
      );
    } catch (err) {
      if (isNotFound(err) || isNotFound((err as Error).cause)) return; // deleted: nothing to report on
      throw err;
    }
  }

  /** Adds or drops the rollout's finalizer, guarded by the resourceVersion it was computed from (409: the next pass decides again). */
  private async updateFinalizers(name: string): Promise<void> {
    const change = this.plan?.finalizers.find((f) => f.policy === name);
    if (!change) return;
    try {
      await this.custom.patchClusterCustomObject(
        {
          group: API_GROUP,
          version: API_VERSION,
          plural: POLICY_PLURAL,
          name,
          body: { metadata: { finalizers: change.finalizers, ...(change.resourceVersion ? { resourceVersion: change.resourceVersion } : {}) } },
        },
        mergePatch(),
      );
      this.options.logger.info({ controller: "controller", policy: name, finalizers: change.finalizers }, "updated policy finalizers");
    } catch (err) {
      if (isNotFound(err) || isNotFound((err as Error).cause)) return;
      if (isConflict(err) || isConflict((err as Error).cause)) {
        this.queue.add("sync");
        return;
      }
      throw err;
    }
  }

  /** Each situation once: an Event when it appears, none while it lasts; it may come back after it ended. */
  private emitEvents(intents: readonly EventIntent[]): void {
    const current = new Set<string>();
    for (const e of intents) {
      const key = eventKey(e.policy, e.policyUid, e.reason, e.message);
      current.add(key);
      if (this.emitted.has(key)) continue;
      this.events.record(
        { apiVersion: API_GROUP_VERSION, kind: POLICY_KIND, name: e.policy, uid: e.policyUid },
        { type: e.type, reason: e.reason, action: "Reconcile", note: e.message },
      );
    }
    this.emitted = current;
  }

  /** The Events a previous leader already emitted about policies, so a takeover does not repeat them. */
  private async existingEvents(): Promise<Set<string>> {
    const out = new Set<string>();
    try {
      const api = makeApiClient(this.options.kubeConfig, EventsV1Api, { timeoutMs: this.options.apiTimeoutMs });
      const list = await api.listNamespacedEvent({ namespace: EVENTS_NAMESPACE });
      for (const e of list.items) {
        if (e.reportingController !== "tcptuning.io/controller" || e.regarding?.kind !== POLICY_KIND) continue;
        out.add(eventKey(e.regarding.name ?? "", e.regarding.uid, e.reason ?? "", e.note ?? ""));
      }
    } catch (err) {
      this.options.logger.warn({ err, controller: "controller" }, "could not list earlier Events; current situations are reported again");
    }
    return out;
  }
}

function eventKey(policy: string, uid: string | undefined, reason: string, message: string): string {
  return JSON.stringify([policy, uid ?? "", reason, message.slice(0, 1024)]);
}
