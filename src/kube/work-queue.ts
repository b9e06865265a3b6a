/**
 * WorkQueue: a keyed, de-duplicating work queue with per-key retry backoff, like client-go's
 * workqueue.TypedRateLimitingInterface. Informer handlers add keys ("node-a", "ns/name"); workers take
 * a key with get(), reconcile it from the cache, and call done(key).
 *
 * - A key added while it waits is queued once; a key added while a worker has it is queued again
 *   after done(key), so one key is never reconciled by two workers at once and no change is lost.
 * - addRateLimited(key) re-adds after the key's own Backoff (backoff.ts) delay, doubling per failure;
 *   forget(key) resets it after a success. addAfter(key, ms) for a planned recheck.
 * - shutDown() stops adds and wakes get() waiters with undefined; with { drain: true } the keys already
 *   queued are still handed out and it resolves once the workers are done with all of them.
 * `runWorkers` is the usual loop: get, handle, forget or addRateLimited, done.
 */
import type { Logger } from "../log.js";
import { Backoff, type BackoffOptions } from "./backoff.js";

export interface WorkQueueOptions {
  /** Per-key retry backoff; default 100 ms doubling to 5 min. */
  readonly backoff?: BackoffOptions;
}

export class WorkQueue<K extends string = string> {
  private readonly queue: K[] = [];
  private readonly dirty = new Set<K>();
  private readonly processing = new Set<K>();
  private readonly failures = new Map<K, { backoff: Backoff; count: number }>();
  private readonly delayed = new Map<NodeJS.Timeout, K>();
  private waiters: ((key: K | undefined) => void)[] = [];
  private idleWaiters: (() => void)[] = [];
  private shuttingDown = false;
  private draining = false;
  private readonly backoffOptions: BackoffOptions;

  constructor(options: WorkQueueOptions = {}) {
    this.backoffOptions = options.backoff ?? { initialMs: 100, maxMs: 5 * 60_000 };
  }

  /** Keys waiting to be handed out (not those being processed). */
  get length(): number {
    return this.queue.length;
  }

  get isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  /** Queues `key` unless it is already waiting; a key being processed is queued again after done(). */
  add(key: K): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.dirty.add(key);
    if (this.processing.has(key)) return;
    this.queue.push(key);
    this.handOut();
  }

  /** Adds `key` after `delayMs` (at once when <= 0). Cancelled by shutDown(). */
  addAfter(key: K, delayMs: number): void {
    if (this.shuttingDown) return;
    if (delayMs <= 0) {
      this.add(key);
      return;
    }
    const timer = setTimeout(() => {
      this.delayed.delete(timer);
      this.add(key);
    }, delayMs);
    timer.unref();
    this.delayed.set(timer, key);
  }

  /** Adds `key` after its backoff delay, which doubles with each call until forget(key). */
  addRateLimited(key: K): void {
    let f = this.failures.get(key);
    if (!f) {
      f = { backoff: new Backoff(this.backoffOptions), count: 0 };
      this.failures.set(key, f);
    }
    f.count++;
    this.addAfter(key, f.backoff.next());
  }

  /** Forgets the key's failures: its next addRateLimited waits the initial delay again. */
  forget(key: K): void {
    this.failures.delete(key);
  }

  /** How many times addRateLimited was called for `key` since its last forget(). */
  numRequeues(key: K): number {
    return this.failures.get(key)?.count ?? 0;
  }

  /**
   * The next key, waiting for one; undefined once the queue is shut down (with drain: once the queued
   * keys are handed out). The caller must call done(key) when it has finished with it.
   */
  get(): Promise<K | undefined> {
    const key = this.take();
    if (key !== undefined) return Promise.resolve(key);
    if (this.shuttingDown) return Promise.resolve(undefined);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Marks `key` finished; if it was added meanwhile, it is queued again. */
  done(key: K): void {
    this.processing.delete(key);
    if (this.dirty.has(key) && !(this.shuttingDown && !this.draining)) {
      this.queue.push(key);
      this.handOut();
    }
    this.checkIdle();
  }

  /**
   * Stops the queue: adds are ignored, delayed adds cancelled. Without drain, queued keys are dropped
   * and get() resolves undefined at once; with drain, queued keys are still handed out and the promise
   * resolves when every key handed out is done.
   */
  async shutDown(options: { drain?: boolean } = {}): Promise<void> {
    this.shuttingDown = true;
    this.draining = options.drain ?? false;
    for (const timer of this.delayed.keys()) clearTimeout(timer);
    this.delayed.clear();
    if (!this.draining) {
      this.queue.length = 0;
      this.dirty.clear();
    }
    if (this.queue.length === 0) for (const w of this.waiters.splice(0)) w(undefined);
    if (!this.draining) return;
    if (this.queue.length === 0 && this.processing.size === 0) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  private take(): K | undefined {
    const key = this.queue.shift();
    if (key === undefined) return undefined;
    this.dirty.delete(key);
    this.processing.add(key);
    return key;
  }

  private handOut(): void {
    while (this.waiters.length > 0 && this.queue.length > 0) {
      const waiter = this.waiters.shift();
      const key = this.take();
      if (waiter && key !== undefined) waiter(key);
    }
  }

  private checkIdle(): void {
    if (this.shuttingDown && this.queue.length === 0) {
      for (const w of this.waiters.splice(0)) w(undefined);
      if (this.processing.size === 0) for (const w of this.idleWaiters.splice(0)) w();
    }
  }
}

/**
 * Runs `workers` loops of: get a key, `handle` it, forget it on success or addRateLimited on failure
 * (logged), done. Resolves when the queue is shut down and every loop has ended.
 */
export async function runWorkers<K extends string>(
  queue: WorkQueue<K>,
  workers: number,
  handle: (key: K) => Promise<void>,
  logger: Logger,
  controller: string,
): Promise<void> {
  const loop = async (): Promise<void> => {
    for (;;) {
      const key = await queue.get();
      if (key === undefined) return;
      try {
        await handle(key);
        queue.forget(key);
      } catch (err) {
        logger.warn({ err, controller, object: key, requeues: queue.numRequeues(key) + 1 }, "reconcile failed; retrying with backoff");
        queue.addRateLimited(key);
      } finally {
        queue.done(key);
      }
    }
  };
  await Promise.all(Array.from({ length: workers }, loop));
}
