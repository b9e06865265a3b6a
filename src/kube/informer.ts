/**
 * ResilientInformer: a LIST+WATCH cache of one collection that survives watch errors, whose
 * `waitForSync()` means "list() holds the listed items", and that can keep a projection of each
 * object instead of the whole object.
 */
import { ADD, DELETE, ERROR, ListWatch, UPDATE, Watch, type KubeConfig, type KubernetesListObject, type KubernetesObject } from "@kubernetes/client-node";
import type { Logger } from "../log.js";
import { Backoff } from "./backoff.js";

export interface InformerOptions<T extends KubernetesObject, S extends KubernetesObject = T> {
  readonly kubeConfig: KubeConfig;
  /** The collection's URL path, e.g. /api/v1/nodes. */
  readonly path: string;
  /** The LIST call (make its client with makeApiClient, so it has a timeout). */
  readonly list: () => Promise<KubernetesListObject<T>>;
  readonly logger: Logger;
  /**
   * What is kept of each object (e.g. a Node's name, labels and kernel version), applied to every
   * listed and watched object before it is stored or handed to a handler. metadata.name, namespace,
   * uid and resourceVersion are always kept (the cache and its change detection need them).
   */
  readonly transform?: (obj: T) => S;
  readonly onAdd?: (obj: S) => void;
  readonly onUpdate?: (obj: S) => void;
  readonly onDelete?: (obj: S) => void;
  /** Backoff after a failed LIST or watch: doubles from initialMs up to maxMs, reset by the next success. */
  readonly backoff?: { readonly initialMs: number; readonly maxMs: number };
}

/** A watch that lasted this long before the server ended it was no tight loop: it is reopened at once. */
const STEADY_WATCH_MS = 2000;

/**
 * ListWatch reopens a watch that ended normally after 1, 2, 4 ... 30 s unless an event (or bookmark)
 * came on it, so that a server closing every watch at once is not hammered; but it reopens at once
 * after a client-side timeout. The apiserver ends every watch at its timeout (--min-request-timeout,
 * 30 to 60 min by default), and on an idle collection no event may come for many of them: without
 * this, such an informer would sit without a watch for up to 30 s after each.
 */
const resumeAtOnce = (): DOMException => new DOMException("the server ended the watch after a while; reopen it at once", "TimeoutError");

type Waiter = { resolve: () => void; reject: (err: Error) => void; timer: NodeJS.Timeout };
type WatchCallback = (phase: string, obj: unknown, watchObj?: unknown) => void;
type DoneCallback = (err: unknown) => void;

/**
 * client-node's ListWatch with three things added:
 * - Sync: ListWatch stores a LIST's items after the list function returns, then opens the watch. The
 *   informer hands ListWatch a Watch of its own and declares itself synced when ListWatch opens the
 *   first watch, i.e. once the items are in the cache: a controller never reconciles an empty cache.
 * - Errors: ListWatch re-lists on 410 Gone and reconnects closed watches, but after any other error
 *   (connection refused, 404 before a CRD exists, 403, 5xx) it reports and stops; this restarts it with
 *   exponential backoff, resuming from the last resourceVersion (410 then makes it list afresh).
 * - Projection: `transform` is applied to listed items and watched objects before ListWatch sees them.
 * - Idle watches: a watch the server ended normally after a while is reopened at once from its
 *   resourceVersion (see resumeAtOnce), not after ListWatch's growing delay; watches ask for bookmarks,
 *   which keep the resourceVersion current when the server has a newer one to give.
 * `synced` stays true after the first sync: a cache that is stale for a few seconds is better than
 * refusing every request. Handlers that throw cost one event (logged, counted), never the cache.
 */
export class ResilientInformer<T extends KubernetesObject, S extends KubernetesObject = T> {
  private readonly informer: ListWatch<S>;
  private readonly backoff: Backoff;
  private restartTimer: NodeJS.Timeout | undefined;
  private stopped = true;
  private hasSynced = false;
  private waiters: Waiter[] = [];
  /** Failures (LIST or watch) since start: for tests and logs. */
  errors = 0;
  /** Successful LISTs since start: the first is the initial sync, later ones are re-lists. */
  lists = 0;
  /** Watch requests opened since start: the first after each LIST, then one per reconnect. */
  watches = 0;
  /** Watches refused as too old (410 Gone: e.g. after an apiserver restart): each makes ListWatch LIST afresh. */
  expired = 0;
  /** The longest time between a watch's end and the next watch's start (reconnect, backoff, re-list), in ms. */
  longestUnwatchedMs = 0;
  private watchEndedAt: number | undefined;
  /** Events whose handler threw: logged and skipped, so the cache and the process go on. */
  handlerErrors = 0;

  constructor(private readonly options: InformerOptions<T, S>) {
    this.backoff = new Backoff({ initialMs: options.backoff?.initialMs ?? 500, maxMs: options.backoff?.maxMs ?? 30_000 });
    const project = (obj: T): S => this.project(obj);
    const listed = async (): Promise<KubernetesListObject<S>> => {
      const result = await options.list();
      this.lists++;
      this.backoff.reset();
      return { ...result, items: result.items.map(project) } as KubernetesListObject<S>;
    };
    const watch = new Watch(options.kubeConfig);
    // ListWatch calls watch.watch() right after it stored a LIST's items (and on every reconnect).
    const watching = {
      watch: (
        path: string,
        query: Record<string, string | number | boolean | undefined>,
        callback: WatchCallback,
        done: DoneCallback,
      ): Promise<AbortController> => {
        this.markSynced();
        this.watches++;
        if (this.watchEndedAt !== undefined) this.longestUnwatchedMs = Math.max(this.longestUnwatchedMs, Math.round(performance.now() - this.watchEndedAt));
        this.watchEndedAt = undefined;
        const projected: WatchCallback = (phase, obj, watchObj) => {
          if (phase === "ERROR" && (obj as { code?: unknown } | undefined)?.code === 410) this.expiredWatch();
          const keep = phase === "ADDED" || phase === "MODIFIED" || phase === "DELETED";
          callback(phase, keep && obj && typeof obj === "object" ? project(obj as T) : obj, watchObj);
        };
        const opened = performance.now();
        const ended: DoneCallback = (err) => {
          this.watchEndedAt = performance.now();
          if ((err as { statusCode?: unknown } | null | undefined)?.statusCode === 410) this.expiredWatch();
          const steady = (err === null || err === undefined) && this.watchEndedAt - opened >= STEADY_WATCH_MS;
          done(steady ? resumeAtOnce() : err);
        };
        return watch.watch(path, { ...query, allowWatchBookmarks: true }, projected, ended);
      },
    };
    this.informer = new ListWatch<S>(options.path, watching as unknown as Watch, listed, false);
    // client-node calls handlers inside its async watch handler (whose rejection nobody awaits: an
    // unhandled rejection ends the process) and inside its re-list (where a throw aborts the list
    // before the watch starts, again at every restart). A handler's failure must cost one event, no more.
    if (options.onAdd) this.informer.on(ADD, this.guard("add", options.onAdd));
    if (options.onUpdate) this.informer.on(UPDATE, this.guard("update", options.onUpdate));
    if (options.onDelete) this.informer.on(DELETE, this.guard("delete", options.onDelete));
    this.informer.on(ERROR, (err: unknown) => this.failed(err));
  }

  /** True once a LIST's items are in the cache (and forever after). */
  get synced(): boolean {
    return this.hasSynced;
  }

  /** Every cached object (projected, when there is a transform). */
  list(): readonly S[] {
    return this.informer.list();
  }

  get(name: string, namespace?: string): S | undefined {
    return this.informer.get(name, namespace);
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    for (const w of this.waiters.splice(0)) {
      clearTimeout(w.timer);
      w.reject(new Error(`informer for ${this.options.path} stopped before it synced`));
    }
    await this.informer.stop();
  }

  /** Resolves once list() holds the first LIST's items; rejects after timeoutMs or on stop(). */
  waitForSync(timeoutMs: number): Promise<void> {
    if (this.hasSynced) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        timer: setTimeout(() => {
          this.waiters = this.waiters.filter((w) => w !== waiter);
          reject(new Error(`informer for ${this.options.path} did not sync within ${timeoutMs} ms (${this.errors} errors so far)`));
        }, timeoutMs),
      };
      this.waiters.push(waiter);
    });
  }

  private project(obj: T): S {
    const transform = this.options.transform;
    if (!transform) return obj as unknown as S;
    const out = transform(obj);
    const m = obj.metadata ?? {};
    const keep = { name: m.name, namespace: m.namespace, uid: m.uid, resourceVersion: m.resourceVersion };
    return { ...out, metadata: { ...out.metadata, ...keep } };
  }

  private markSynced(): void {
    if (this.hasSynced) return;
    this.hasSynced = true;
    this.options.logger.info({ path: this.options.path, items: this.informer.list().length }, "informer synced");
    for (const w of this.waiters.splice(0)) {
      clearTimeout(w.timer);
      w.resolve();
    }
  }

  private expiredWatch(): void {
    this.expired++;
    this.options.logger.info({ path: this.options.path, expired: this.expired }, "watch resourceVersion too old (410 Gone); listing afresh");
  }

  private guard(event: string, handler: (obj: S) => void): (obj: S) => void {
    return (obj) => {
      try {
        handler(obj);
      } catch (err) {
        this.handlerErrors++;
        this.options.logger.error({ err, path: this.options.path, event, object: obj.metadata?.name }, "informer event handler failed; event skipped");
      }
    };
  }

  private run(): void {
    this.informer.start().catch((err: unknown) => this.failed(err));
  }

  private failed(err: unknown): void {
    this.errors++;
    if (this.stopped) return;
    const delay = this.backoff.next();
    this.options.logger.warn({ path: this.options.path, err, retryInMs: delay }, "informer list/watch failed; restarting");
    if (this.restartTimer) return;
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (!this.stopped) this.run();
    }, delay);
    this.restartTimer.unref();
  }
}
