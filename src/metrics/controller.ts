import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import { DURATION_BUCKETS } from "./registry.js";

/** The controller's kinds of reconcile: the whole plan (sync), one node state, one policy status. */
export const RECONCILE_KINDS = ["sync", "node-state", "policy-status"] as const;

/**
 * What the controller exports. The controller calls these; nothing here reads the API.
 * `observeReconcile` times one reconcile; `setPolicyProgress` replaces a policy's node counts.
 */
export class ControllerMetrics {
  readonly reconcileDuration: Histogram<"controller" | "result">;
  readonly queueDepth: Gauge<"controller">;
  readonly retries: Counter<"controller">;
  readonly leader: Gauge;
  readonly policyNodes: Gauge<"policy" | "state">;
  readonly rolloutProgress: Gauge<"policy">;
  readonly nodeStates: Gauge<"state">;
  private readonly statesOf = new Map<string, string[]>();

  constructor(registry: Registry) {
    this.reconcileDuration = new Histogram({
      name: "tcptuning_controller_reconcile_duration_seconds",
      help: "Time to reconcile one object, by controller and result (success, error, requeue).",
      labelNames: ["controller", "result"],
      buckets: DURATION_BUCKETS,
      registers: [registry],
    });
    this.queueDepth = new Gauge({
      name: "tcptuning_controller_queue_depth",
      help: "Objects waiting in the work queue.",
      labelNames: ["controller"],
      registers: [registry],
    });
    this.retries = new Counter({
      name: "tcptuning_controller_retries_total",
      help: "Reconciles requeued after an error, with backoff.",
      labelNames: ["controller"],
      registers: [registry],
    });
    this.leader = new Gauge({ name: "tcptuning_controller_leader", help: "1 while this replica holds the leader Lease, else 0.", registers: [registry] });
    this.policyNodes = new Gauge({
      name: "tcptuning_controller_policy_nodes",
      help: "Nodes a policy selects, by rollout state (e.g. Applied, Pending, Failed, Skipped).",
      labelNames: ["policy", "state"],
      registers: [registry],
    });
    this.rolloutProgress = new Gauge({
      name: "tcptuning_controller_rollout_progress_ratio",
      help: "Share of a policy's selected nodes that have applied its current generation (0 to 1).",
      labelNames: ["policy"],
      registers: [registry],
    });
    this.nodeStates = new Gauge({
      name: "tcptuning_controller_node_states",
      help: "TcpTuningNodeStates by state (e.g. Applied, Pending, Failed, Drifted).",
      labelNames: ["state"],
      registers: [registry],
    });
    this.leader.set(0);
    // Series exist from the start (at 0), so rate() and alerts see them before the first retry.
    for (const controller of RECONCILE_KINDS) this.retries.inc({ controller }, 0);
  }

  /** Times a reconcile: resolves to its result and records its duration as success or error. */
  async observeReconcile<T>(controller: string, work: () => Promise<T>): Promise<T> {
    const end = this.reconcileDuration.startTimer({ controller });
    try {
      const out = await work();
      end({ result: "success" });
      return out;
    } catch (err) {
      end({ result: "error" });
      this.retries.inc({ controller });
      throw err;
    }
  }

  /** A policy's nodes by state; the progress is the share in `doneState`. States not given drop to 0. */
  setPolicyProgress(policy: string, counts: Readonly<Record<string, number>>, doneState = "Applied"): void {
    for (const state of this.statesOf.get(policy) ?? []) this.policyNodes.remove({ policy, state });
    this.statesOf.set(policy, Object.keys(counts));
    let total = 0;
    for (const [state, n] of Object.entries(counts)) {
      this.policyNodes.set({ policy, state }, n);
      total += n;
    }
    this.rolloutProgress.set({ policy }, total === 0 ? 0 : (counts[doneState] ?? 0) / total);
  }

  /** A policy is gone: its series go too. */
  forgetPolicy(policy: string): void {
    for (const state of this.statesOf.get(policy) ?? []) this.policyNodes.remove({ policy, state });
    this.statesOf.delete(policy);
    this.rolloutProgress.remove({ policy });
  }

  /** Every policy not in `live` is gone: its series go too. */
  forgetPoliciesExcept(live: ReadonlySet<string>): void {
    for (const policy of [...this.statesOf.keys()]) if (!live.has(policy)) this.forgetPolicy(policy);
  }

  setNodeStates(counts: Readonly<Record<string, number>>): void {
    this.nodeStates.reset();
    for (const [state, n] of Object.entries(counts)) this.nodeStates.set({ state }, n);
  }
}
