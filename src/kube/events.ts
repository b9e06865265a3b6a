/**
 * EventRecorder: Kubernetes Events on events.k8s.io/v1 that aggregate repeats, the way client-go's
 * tools/events does. The first occurrence of (regarding object, type, reason, action, note) creates an
 * Event; repeats within `windowMs` of the previous one only count, in memory, and are written as the
 * Event's `series` (count, lastObservedTime) at most once per `seriesUpdateMs` per series, when the
 * series ends (no repeat for `windowMs`) and on flush()/stop(). A condition that repeats every drift
 * interval on every node therefore costs one Event per node, not one per interval.
 *
 * Writes go through one worker, paced by a token bucket (`burst`, `perSecond`), so a storm of new
 * Events cannot flood the apiserver; repeats coalesce while they wait. record() never throws and never
 * waits: a failed write is logged and dropped (Events are best effort).
 */
import { V1MicroTime, type EventsV1Api, type EventsV1Event, type V1ObjectReference } from "@kubernetes/client-node";
import type { Logger } from "../log.js";
import { mergePatch } from "./patch.js";

export type EventType = "Normal" | "Warning";

export interface EventInput {
  readonly type: EventType;
  /** UpperCamelCase, why the action was taken (e.g. DriftCorrected). */
  readonly reason: string;
  /** UpperCamelCase, what was done or failed (e.g. Apply, Restore). */
  readonly action: string;
  /** Human-readable; cut to 1 KiB. */
  readonly note: string;
}

/** The object an Event is about; cluster-scoped objects' Events go to the "default" namespace. */
export interface EventObjectRef {
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  readonly namespace?: string | undefined;
  readonly uid?: string | undefined;
}

export interface EventRecorderOptions {
  /** An EventsV1Api made with makeApiClient (so each write has a timeout). */
  readonly api: EventsV1Api;
  /** reportingController: a qualified name for the component, e.g. "tcptuning.io/agent". */
  readonly controller: string;
  /** reportingInstance: which replica or node, e.g. the node name or pod name. */
  readonly instance: string;
  readonly logger: Logger;
  /** A repeat within this time of the previous occurrence joins its series; default 6 min (client-go). */
  readonly windowMs?: number;
  /** A series' count is written at most this often; default 5 min. */
  readonly seriesUpdateMs?: number;
  /** Token bucket for writes: at most `burst` at once, refilled at `perSecond`; default 25 and 1. */
  readonly burst?: number;
  readonly perSecond?: number;
  /** Series kept in memory; occurrences of new ones beyond this are dropped (counted); default 4096. */
  readonly maxSeries?: number;
  /** The clock (tests). */
  readonly now?: () => number;
}

interface Series {
  readonly key: string;
  readonly regarding: EventObjectRef;
  readonly input: EventInput;
  readonly firstMs: number;
  lastMs: number;
  count: number;
  /** The Event's name once created; undefined before. */
  name: string | undefined;
  readonly namespace: string;
  /** The count the apiserver has. */
  written: number;
  lastWriteMs: number;
  /** A create failed: the series is forgotten once it ends. */
  failed: boolean;
}

let nameCounter = 0;

export class EventRecorder {
  private readonly series = new Map<string, Series>();
  private readonly queue = new Set<string>();
  private readonly windowMs: number;
  private readonly seriesUpdateMs: number;
  private readonly burst: number;
  private readonly perSecond: number;
  private readonly maxSeries: number;
  private readonly now: () => number;
  private tokens: number;
  private refilledAt: number;
  private working: Promise<void> | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** API writes that failed (logged). */
  failures = 0;
  /** Occurrences dropped because maxSeries series were in memory. */
  dropped = 0;
  /** Creates and series updates sent. */
  writes = 0;

  constructor(private readonly options: EventRecorderOptions) {
    this.windowMs = options.windowMs ?? 6 * 60_000;
    this.seriesUpdateMs = options.seriesUpdateMs ?? 5 * 60_000;
    this.burst = options.burst ?? 25;
    this.perSecond = options.perSecond ?? 1;
    this.maxSeries = options.maxSeries ?? 4096;
    this.now = options.now ?? Date.now;
    this.tokens = this.burst;
    this.refilledAt = this.now();
  }

  /** Records one occurrence; returns at once, never throws. Ignored after stop(). */
  record(regarding: EventObjectRef, input: EventInput): void {
    if (this.stopped) return;
    try {
      const now = this.now();
      const key = JSON.stringify([
        regarding.apiVersion,
        regarding.kind,
        regarding.namespace ?? "",
        regarding.name,
        regarding.uid ?? "",
        input.type,
        input.reason,
        input.action,
        input.note,
      ]);
      const s = this.series.get(key);
      if (s && now - s.lastMs <= this.windowMs) {
        s.count++;
        s.lastMs = now;
        if (s.name !== undefined && now - s.lastWriteMs >= this.seriesUpdateMs) this.enqueue(key);
      } else {
        if (s) this.finish(s);
        if (this.series.size >= this.maxSeries) {
          this.dropped++;
          return;
        }
        const fresh: Series = {
          key,
          regarding,
          input: { ...input, note: input.note.slice(0, 1024) },
          firstMs: now,
          lastMs: now,
          count: 1,
          name: undefined,
          namespace: regarding.namespace || "default",
          written: 0,
          lastWriteMs: 0,
          failed: false,
        };
        this.series.set(key, fresh);
        this.enqueue(key);
      }
      this.armSweep();
    } catch (err) {
      this.options.logger.error({ err }, "event recorder: could not record an event");
    }
  }

  /** Writes every pending create and unwritten series count now (waits for them; never throws). */
  async flush(): Promise<void> {
    for (const s of this.series.values()) if (s.count > s.written && !s.failed) this.queue.add(s.key);
    this.kick();
    while (this.working) await this.working;
  }

  /**
   * Flushes for at most `timeoutMs` (a dead apiserver must not hold a shutdown), then ignores further
   * records, drops what is still unwritten and stops the timers.
   */
  async stop(timeoutMs = 5_000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.flush(), new Promise<void>((r) => (timer = setTimeout(r, timeoutMs)))]);
    clearTimeout(timer);
    this.stopped = true;
    this.queue.clear();
    if (this.sweepTimer) clearTimeout(this.sweepTimer);
    this.sweepTimer = undefined;
  }

  private enqueue(key: string): void {
    this.queue.add(key);
    this.kick();
  }

  private kick(): void {
    if (this.working || this.queue.size === 0) return;
    this.working = this.work().finally(() => {
      this.working = undefined;
      if (this.queue.size > 0) this.kick();
    });
  }

  private async work(): Promise<void> {
    while (!this.stopped) {
      const key = this.queue.values().next().value;
      if (key === undefined) return;
      this.queue.delete(key);
      const s = this.series.get(key);
      if (!s || s.failed || (s.name !== undefined && s.count <= s.written)) continue;
      await this.takeToken();
      if (this.stopped) return;
      await this.write(s);
    }
  }

  private async takeToken(): Promise<void> {
    while (!this.stopped) {
      const now = this.now();
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.refilledAt) / 1000) * this.perSecond);
      this.refilledAt = now;
      if (this.tokens >= 1) {
        this.tokens -= 1;
        return;
      }
      const waitMs = Math.ceil(((1 - this.tokens) / this.perSecond) * 1000);
      await new Promise((r) => setTimeout(r, waitMs).unref());
    }
  }

  private async write(s: Series): Promise<void> {
    const count = s.count;
    const last = s.lastMs;
    const series = count > 1 ? { count, lastObservedTime: new V1MicroTime(last) } : undefined;
    try {
      if (s.name === undefined) {
        const name = `${s.regarding.name}.${(Date.now() * 1000 + (nameCounter++ % 1000)).toString(16)}`;
        const body: EventsV1Event = {
          apiVersion: "events.k8s.io/v1",
          kind: "Event",
          metadata: { name, namespace: s.namespace },
          eventTime: new V1MicroTime(s.firstMs),
          regarding: reference(s.regarding),
          type: s.input.type,
          reason: s.input.reason,
          action: s.input.action,
          note: s.input.note,
          reportingController: this.options.controller,
          reportingInstance: this.options.instance,
          ...(series ? { series } : {}),
        };
        await this.options.api.createNamespacedEvent({ namespace: s.namespace, body });
        s.name = name;
      } else {
        // Merge patch, not SSA: an Event is written by the one recorder that created it, and only its
        // series changes (the other fields are immutable), so there is no shared ownership to track.
        await this.options.api.patchNamespacedEvent({ name: s.name, namespace: s.namespace, body: { series } }, mergePatch());
      }
      this.writes++;
      s.written = count;
      s.lastWriteMs = this.now();
    } catch (err) {
      this.failures++;
      // A create that failed is not retried (the next occurrence after the series ends tries again);
      // a series update that failed is retried with the next update.
      if (s.name === undefined) s.failed = true;
      this.options.logger.warn(
        { err, object: s.regarding.name, reason: s.input.reason, count },
        s.name === undefined ? "could not create Event" : "could not update Event series",
      );
    }
  }

  /** Ends a series: its last count is written (if it was created), then it is forgotten. */
  private finish(s: Series): void {
    this.series.delete(s.key);
    if (s.name !== undefined && s.count > s.written && !s.failed) {
      // Written under a key of its own, so a new series with the same key can start meanwhile.
      const endKey = `${s.key}#end@${s.lastMs}`;
      this.series.set(endKey, { ...s, key: endKey, lastMs: Number.NEGATIVE_INFINITY });
      this.enqueue(endKey);
    }
  }

  /** Periodically: ends series idle for windowMs and writes counts due for an update. */
  private armSweep(): void {
    if (this.sweepTimer || this.stopped) return;
    const every = Math.max(1000, Math.min(this.windowMs, this.seriesUpdateMs) / 2);
    this.sweepTimer = setTimeout(() => {
      this.sweepTimer = undefined;
      const now = this.now();
      for (const s of [...this.series.values()]) {
        if (s.lastMs === Number.NEGATIVE_INFINITY) {
          if (s.count <= s.written || s.failed) this.series.delete(s.key);
          continue;
        }
        if (now - s.lastMs > this.windowMs) this.finish(s);
        else if (s.name !== undefined && s.count > s.written && now - s.lastWriteMs >= this.seriesUpdateMs) this.enqueue(s.key);
      }
      if (this.series.size > 0) this.armSweep();
    }, every);
    this.sweepTimer.unref();
  }
}

function reference(r: EventObjectRef): V1ObjectReference {
  return { apiVersion: r.apiVersion, kind: r.kind, name: r.name, ...(r.namespace ? { namespace: r.namespace } : {}), ...(r.uid ? { uid: r.uid } : {}) };
}
