import { ADD, DELETE, ERROR, UPDATE, makeInformer, type Informer, type KubeConfig, type KubernetesListObject, type KubernetesObject, type ObjectCache } from "@kubernetes/client-node";
import type { Logger } from "../log.js";
import { describeApiError } from "./api-error.js";
import { Backoff } from "./backoff.js";

export interface InformerOptions<T extends KubernetesObject> {
  readonly kubeConfig: KubeConfig;
  /** The collection's URL path, e.g. /api/v1/nodes. */
  readonly path: string;
  readonly list: () => Promise<KubernetesListObject<T>>;
  readonly logger: Logger;
  readonly onAdd?: (obj: T) => void;
  readonly onUpdate?: (obj: T) => void;
  readonly onDelete?: (obj: T) => void;
  /** Backoff after a failed LIST or watch: doubles from initialMs up to maxMs, reset by the next success. */
  readonly backoff?: { readonly initialMs: number; readonly maxMs: number };
}

type Waiter = { resolve: () => void; reject: (err: Error) => void; timer: NodeJS.Timeout };

/**
 * A LIST+WATCH cache that survives errors. client-node's informer re-lists on 410 Gone and reconnects
 * closed watches, but after any other error (connection refused, 404 before a CRD exists, 403, 5xx) it
 * reports and stops; this one restarts it with exponential backoff, resuming from the last resourceVersion
 * (the apiserver answers 410 when that is too old, and the informer then lists afresh).
 * `synced` turns true after the first successful LIST and stays true: a cache that is stale for a few
 * seconds is better than refusing every request.
 */
export class ResilientInformer<T extends KubernetesObject> {
  private readonly informer: Informer<T> & ObjectCache<T>;
  private readonly backoff: Backoff;
  private restartTimer: NodeJS.Timeout | undefined;
  private stopped = true;
  private hasSynced = false;
  private waiters: Waiter[] = [];
  /** Failures (LIST or watch) since start: for tests and logs. */
  errors = 0;
  /** Successful LISTs since start: the first is the initial sync, later ones are re-lists. */
  lists = 0;
  /** Events whose handler threw: logged and skipped, so the cache and the process go on. */
  handlerErrors = 0;

  constructor(private readonly options: InformerOptions<T>) {
    this.backoff = new Backoff({ initialMs: options.backoff?.initialMs ?? 500, maxMs: options.backoff?.maxMs ?? 30_000 });
    const listed = async (): Promise<KubernetesListObject<T>> => {
      const result = await options.list();
      this.lists++;
      this.backoff.reset();
      if (!this.hasSynced) {
        this.hasSynced = true;
        options.logger.info({ path: options.path, items: result.items.length }, "informer synced");
        for (const w of this.waiters.splice(0)) {
          clearTimeout(w.timer);
          w.resolve();
        }
      }
      return result;
    };
    this.informer = makeInformer<T>(options.kubeConfig, options.path, listed);
    // client-node calls handlers inside its async watch handler (whose rejection nobody awaits: an
    // unhandled rejection ends the process) and inside its re-list (where a throw aborts the list
    // before the watch starts, again at every restart). A handler's failure must cost one event, no more.
    if (options.onAdd) this.informer.on(ADD, this.guard("add", options.onAdd));
    if (options.onUpdate) this.informer.on(UPDATE, this.guard("update", options.onUpdate));
    if (options.onDelete) this.informer.on(DELETE, this.guard("delete", options.onDelete));
    this.informer.on(ERROR, (err: unknown) => this.failed(err));
  }

  get synced(): boolean {
    return this.hasSynced;
  }

  list(): readonly T[] {
    return this.informer.list();
  }

  get(name: string, namespace?: string): T | undefined {
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

  /** Resolves at the first successful LIST; rejects after timeoutMs. */
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

  private guard(event: string, handler: (obj: T) => void): (obj: T) => void {
    return (obj) => {
      try {
        handler(obj);
      } catch (err) {
        this.handlerErrors++;
        this.options.logger.error({ err, path: this.options.path, event, name: obj.metadata?.name }, "informer event handler failed; event skipped");
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
    this.options.logger.warn({ path: this.options.path, error: describeApiError(err), retryInMs: delay }, "informer list/watch failed; restarting");
    if (this.restartTimer) return;
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (!this.stopped) this.run();
    }, delay);
    this.restartTimer.unref();
  }
}
