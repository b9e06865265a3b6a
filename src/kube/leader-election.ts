/**
 * LeaderElector: leader election on a coordination.k8s.io/v1 Lease, as client-go's
 * tools/leaderelection does it (client-node 2.x has none). Candidates try to create or take over the
 * Lease every `retryPeriodMs`; the holder renews it on the same period and gives up leadership if it
 * could not renew for `renewDeadlineMs`; a standby takes an abandoned Lease once its record has not
 * changed for `leaseDurationMs` by the standby's own clock (so clock skew between nodes does not
 * matter). Every write is an update with the resourceVersion read before it (optimistic concurrency:
 * of two candidates, one gets 409 Conflict). The leader renews without reading first, from the Lease as
 * it last wrote it (client-go's "fast path"): one request per retry period instead of two; a 409 (the
 * Lease was changed meanwhile) or any other failure falls back to reading it. stop() releases a held Lease (like ReleaseOnCancel) so the
 * next candidate takes over at its next retry instead of after the lease duration.
 */
import { V1MicroTime, type CoordinationV1Api, type V1Lease } from "@kubernetes/client-node";
import type { Logger } from "../log.js";
import { isAlreadyExists, isConflict, isNotFound } from "./api-error.js";
import { withTimeout } from "./timeout.js";

export interface LeaderElectorOptions {
  /** A CoordinationV1Api made with makeApiClient. */
  readonly api: CoordinationV1Api;
  readonly namespace: string;
  /** The Lease's name, e.g. "tcp-tuning-controller". */
  readonly name: string;
  /** This candidate, unique among candidates: e.g. the pod name. */
  readonly identity: string;
  /** How long a Lease stays valid after its last renewal; default 15 s. */
  readonly leaseDurationMs?: number;
  /** The leader gives up if it could not renew for this long; default 10 s (< leaseDurationMs). */
  readonly renewDeadlineMs?: number;
  /** How often to try to acquire or renew; default 2 s. */
  readonly retryPeriodMs?: number;
  /** Release the Lease on stop() (default true). */
  readonly releaseOnStop?: boolean;
  /** Called on becoming leader; `signal` aborts when leadership ends (loss or stop). */
  readonly onStartedLeading: (signal: AbortSignal) => void | Promise<void>;
  /** Called when leadership ends (after having started). */
  readonly onStoppedLeading: () => void;
  /** Called when the observed holder changes (including to this identity). */
  readonly onNewLeader?: (identity: string) => void;
  readonly logger: Logger;
}

interface Observed {
  /** holder, renewTime, leaseDuration, transitions: a change in any means the holder is alive. */
  readonly record: string;
  readonly holder: string;
  /** Local monotonic time at which this record was first seen. */
  readonly atMs: number;
}

const now = (): number => performance.now();

function microNow(): V1MicroTime {
  return new V1MicroTime(Date.now());
}

export class LeaderElector {
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private observed: Observed | undefined;
  /** The Lease as this candidate last wrote it while leading: the base of the next renewal. */
  private held: V1Lease | undefined;
  private leading: AbortController | undefined;
  private lastRenewMs = 0;
  private deadlineTimer: NodeJS.Timeout | undefined;
  private stopping: AbortController = new AbortController();
  private running: Promise<void> | undefined;
  private wake: (() => void) | undefined;

  constructor(private readonly options: LeaderElectorOptions) {
    this.leaseDurationMs = options.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = options.renewDeadlineMs ?? 10_000;
    this.retryPeriodMs = options.retryPeriodMs ?? 2_000;
    if (!(this.renewDeadlineMs < this.leaseDurationMs)) throw new Error("leader election: renewDeadlineMs must be less than leaseDurationMs");
    if (!(this.retryPeriodMs < this.renewDeadlineMs)) throw new Error("leader election: retryPeriodMs must be less than renewDeadlineMs");
  }

  /** True while this candidate holds the Lease (and has not passed its renew deadline). */
  get isLeader(): boolean {
    return this.leading !== undefined;
  }

  /** The holder last seen in the Lease ("" when released), undefined before the first read. */
  get leader(): string | undefined {
    return this.observed?.holder;
  }

  /** Starts campaigning in the background; returns at once. */
  start(): void {
    if (this.running) return;
    this.stopping = new AbortController();
    this.running = this.loop().catch((err: unknown) => this.options.logger.error({ err, lease: this.options.name }, "leader election loop failed"));
  }

  /** Stops campaigning; ends leadership (onStoppedLeading) and releases the Lease if held. */
  async stop(): Promise<void> {
    this.stopping.abort();
    this.wake?.();
    await this.running;
    this.running = undefined;
    if (this.leading) {
      const wasLeader = this.leading;
      this.endLeading("stopped");
      if ((this.options.releaseOnStop ?? true) && wasLeader) await this.release();
    }
  }

  private async loop(): Promise<void> {
    while (!this.stopping.signal.aborted) {
      // A renewal counts from when it was sent: the Lease's new record may be seen by a standby from then on.
      const sent = now();
      const ok = await this.tryAcquireOrRenew();
      if (ok) {
        this.lastRenewMs = sent;
        if (!this.leading) this.startLeading();
        this.armRenewDeadline();
      }
      await this.sleep(this.retryPeriodMs);
    }
  }

  /**
   * Leadership ends at the renew deadline itself, not when a slow attempt finally returns: an attempt
   * (a read and an update, each up to its timeout) may outlast the deadline, and a leader that kept
   * leading until it returned could still be writing once the lease has run out and a standby leads.
   */
  private armRenewDeadline(): void {
    clearTimeout(this.deadlineTimer);
    const renewedAt = this.lastRenewMs;
    // Ends leadership unless a renewal came since; not a clock comparison, which a timer may reach a millisecond early.
    this.deadlineTimer = setTimeout(
      () => {
        if (this.leading && this.lastRenewMs === renewedAt)
          this.endLeading(`could not renew for ${Math.round(now() - renewedAt)} ms (renew deadline ${this.renewDeadlineMs} ms)`);
      },
      Math.max(0, renewedAt + this.renewDeadlineMs - now()),
    );
    this.deadlineTimer.unref();
  }

  /** The timeout of one API call of an attempt: while leading, never past the renew deadline. */
  private callLimit(limit: number): number {
    if (!this.leading) return limit;
    return Math.max(50, Math.min(limit, this.lastRenewMs + this.renewDeadlineMs - now()));
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wake = undefined;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
    });
  }

  private startLeading(): void {
    const controller = new AbortController();
    this.leading = controller;
    this.options.logger.info({ lease: this.options.name, identity: this.options.identity }, "started leading");
    try {
      void Promise.resolve(this.options.onStartedLeading(controller.signal)).catch((err: unknown) =>
        this.options.logger.error({ err, lease: this.options.name }, "onStartedLeading failed"),
      );
    } catch (err) {
      this.options.logger.error({ err, lease: this.options.name }, "onStartedLeading failed");
    }
  }

  private endLeading(why: string): void {
    const controller = this.leading;
    if (!controller) return;
    this.leading = undefined;
    this.held = undefined;
    clearTimeout(this.deadlineTimer);
    this.options.logger.warn({ lease: this.options.name, identity: this.options.identity, why }, "stopped leading");
    controller.abort(new Error(`leadership of lease ${this.options.name} ended: ${why}`));
    try {
      this.options.onStoppedLeading();
    } catch (err) {
      this.options.logger.error({ err, lease: this.options.name }, "onStoppedLeading failed");
    }
  }

  /** One attempt: true when this candidate holds the Lease afterwards. */
  private async tryAcquireOrRenew(): Promise<boolean> {
    const { api, namespace, name, identity } = this.options;
    // One call of an attempt at most; while leading, callLimit() also stops each call at the renew deadline.
    const limit = Math.max(1000, Math.min(this.retryPeriodMs * 2, this.renewDeadlineMs));
    const durationSeconds = Math.ceil(this.leaseDurationMs / 1000);
    if (this.leading && this.held && (await this.renewHeld(limit, durationSeconds))) return true;
    try {
      let lease: V1Lease;
      try {
        lease = await withTimeout(api.readNamespacedLease({ name, namespace }), this.callLimit(limit), `read lease ${namespace}/${name}`);
      } catch (err) {
        if (!isNotFound(err)) throw err;
        const created = await withTimeout(
          api.createNamespacedLease({
            namespace,
            body: {
              metadata: { name, namespace },
              spec: { holderIdentity: identity, leaseDurationSeconds: durationSeconds, acquireTime: microNow(), renewTime: microNow(), leaseTransitions: 0 },
            },
          }),
          this.callLimit(limit),
          `create lease ${namespace}/${name}`,
        );
        this.observe(created);
        this.held = created;
        return true;
      }
      const spec = lease.spec ?? {};
      this.observe(lease);
      const holder = spec.holderIdentity ?? "";
      const observed = this.observed;
      const expired = observed === undefined || now() - observed.atMs > (spec.leaseDurationSeconds ?? durationSeconds) * 1000;
      if (holder !== "" && holder !== identity && !expired) return false;
      const mine = holder === identity;
      const body: V1Lease = {
        ...lease,
        spec: {
          ...spec,
          holderIdentity: identity,
          leaseDurationSeconds: durationSeconds,
          renewTime: microNow(),
          acquireTime: mine ? (spec.acquireTime ?? microNow()) : microNow(),
          leaseTransitions: mine ? (spec.leaseTransitions ?? 0) : (spec.leaseTransitions ?? 0) + 1,
        },
      };
      const updated = await withTimeout(api.replaceNamespacedLease({ name, namespace, body }), this.callLimit(limit), `update lease ${namespace}/${name}`);
      this.observe(updated);
      this.held = updated;
      if (!mine) this.options.logger.info({ lease: name, from: holder || "(released)", identity }, "acquired lease");
      return true;
    } catch (err) {
      if (isConflict(err) || isAlreadyExists(err)) return false; // another candidate wrote first
      this.options.logger.warn({ err, lease: name }, "could not acquire or renew lease");
      return false;
    }
  }

  /** The leader's renewal from the Lease it last wrote, without reading it; false: read it and try again. */
  private async renewHeld(limit: number, durationSeconds: number): Promise<boolean> {
    const { api, namespace, name } = this.options;
    const held = this.held as V1Lease;
    try {
      const body: V1Lease = { ...held, spec: { ...held.spec, leaseDurationSeconds: durationSeconds, renewTime: microNow() } };
      const updated = await withTimeout(api.replaceNamespacedLease({ name, namespace, body }), this.callLimit(limit), `renew lease ${namespace}/${name}`);
      this.observe(updated);
      this.held = updated;
      return true;
    } catch (err) {
      this.held = undefined;
      if (!isConflict(err)) this.options.logger.warn({ err, lease: name }, "could not renew lease from the last written copy; reading it");
      return false;
    }
  }

  private observe(lease: V1Lease): void {
    const s = lease.spec ?? {};
    const holder = s.holderIdentity ?? "";
    const record = JSON.stringify([holder, String(s.renewTime ?? ""), s.leaseDurationSeconds ?? 0, s.leaseTransitions ?? 0]);
    if (this.observed?.record === record) return;
    const previous = this.observed?.holder;
    this.observed = { record, holder, atMs: now() };
    if (previous !== holder && holder !== "") this.options.onNewLeader?.(holder);
  }

  /** Gives the Lease up: holder "", a 1 s duration, so any candidate takes it at its next try. */
  private async release(): Promise<void> {
    const { api, namespace, name, identity } = this.options;
    try {
      const lease = await withTimeout(api.readNamespacedLease({ name, namespace }), 5000, `read lease ${namespace}/${name}`);
      if (lease.spec?.holderIdentity !== identity) return;
      const body: V1Lease = { ...lease, spec: { ...lease.spec, holderIdentity: "", leaseDurationSeconds: 1, renewTime: microNow(), acquireTime: microNow() } };
      await withTimeout(api.replaceNamespacedLease({ name, namespace, body }), 5000, `release lease ${namespace}/${name}`);
      this.options.logger.info({ lease: name, identity }, "released lease");
    } catch (err) {
      this.options.logger.warn({ err, lease: name }, "could not release lease; the next leader waits for it to expire");
    }
  }
}
