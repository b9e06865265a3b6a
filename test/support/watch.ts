import { Watch, type KubeConfig, type KubernetesObject } from "@kubernetes/client-node";

export type WatchEventType = "ADDED" | "MODIFIED" | "DELETED";

export interface WatchEvent<T extends KubernetesObject> {
  readonly type: WatchEventType;
  readonly object: T;
}

export interface WatchOptions {
  /** Start after this resourceVersion; absent means: the current objects as ADDED, then changes. */
  readonly resourceVersion?: string;
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
  /** How long open() keeps retrying to establish the watch. */
  readonly openTimeoutMs?: number;
}

const BACKOFF_MS = [100, 250, 500, 1000, 2000] as const;

/**
 * A watch on one resource path (e.g. /apis/tcptuning.io/v1alpha1/tcptuningpolicies) that keeps
 * itself open: on an error (a CRD that was just created answers 429 or 404 for a couple of
 * seconds), a closed connection or client-node's inactivity timeout it watches again from the
 * last resourceVersion it saw, so no event is lost. Events are buffered until next() takes them.
 */
export class ResourceWatch<T extends KubernetesObject = KubernetesObject> {
  private readonly events: WatchEvent<T>[] = [];
  private cursor = 0;
  private resourceVersion: string | undefined;
  private abort: AbortController | undefined;
  private stopped = false;
  private failures = 0;
  private lastError: string | undefined;
  private waiters: (() => void)[] = [];

  private constructor(
    private readonly kc: KubeConfig,
    readonly path: string,
    private readonly options: WatchOptions,
  ) {
    this.resourceVersion = options.resourceVersion;
  }

  /** Opens the watch; resolves once the apiserver has accepted it. */
  static async open<T extends KubernetesObject = KubernetesObject>(kc: KubeConfig, path: string, options: WatchOptions = {}): Promise<ResourceWatch<T>> {
    const w = new ResourceWatch<T>(kc, path, options);
    const deadline = performance.now() + (options.openTimeoutMs ?? 30_000);
    for (;;) {
      if (await w.connect()) return w;
      if (performance.now() > deadline) {
        w.stop();
        throw new Error(`watch ${path}: could not be opened in ${options.openTimeoutMs ?? 30_000} ms: ${w.lastError ?? "unknown error"}`);
      }
      await sleep(w.backoff());
    }
  }

  /**
   * The next event (after those already taken) that `matches`; earlier non-matching events are
   * skipped. Rejects after timeoutMs with the events seen, to show what happened instead.
   */
  async next(matches: (event: WatchEvent<T>) => boolean = () => true, timeoutMs = 30_000): Promise<WatchEvent<T>> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      while (this.cursor < this.events.length) {
        const event = this.events[this.cursor++];
        if (event && matches(event)) return event;
      }
      const left = deadline - performance.now();
      if (left <= 0 || this.stopped) {
        const seen = this.events.map((e) => `${e.type} ${e.object.metadata?.name ?? "?"}@${e.object.metadata?.resourceVersion ?? "?"}`);
        throw new Error(
          `watch ${this.path}: no matching event within ${timeoutMs} ms; saw [${seen.join(", ")}]${this.lastError ? `; last error: ${this.lastError}` : ""}`,
        );
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Every event received so far, taken or not. */
  all(): readonly WatchEvent<T>[] {
    return this.events;
  }

  stop(): void {
    this.stopped = true;
    this.abort?.abort();
    this.wake();
  }

  /** One attempt to establish the watch; true when the apiserver accepted it. */
  private async connect(): Promise<boolean> {
    let established = false;
    let ended = false;
    const params: Record<string, string | boolean> = { allowWatchBookmarks: true };
    if (this.resourceVersion) params["resourceVersion"] = this.resourceVersion;
    if (this.options.labelSelector) params["labelSelector"] = this.options.labelSelector;
    if (this.options.fieldSelector) params["fieldSelector"] = this.options.fieldSelector;
    const abort = await new Watch(this.kc).watch(
      this.path,
      params,
      (type, object: T) => this.receive(type, object),
      (err: unknown) => {
        ended = true;
        if (err) {
          const code = (err as { statusCode?: number }).statusCode;
          this.lastError = `${code ? `HTTP ${code} ` : ""}${(err as Error).message ?? String(err)}`;
        }
        // A watch that was up and then ended (server close, inactivity timeout, error): again.
        if (established) this.abort = undefined;
        if (established && !this.stopped) void this.reconnect();
      },
    );
    if (ended) return false;
    established = true;
    this.abort = abort;
    this.failures = 0;
    return true;
  }

  private receive(type: string, object: T): void {
    if (type === "ERROR") {
      // e.g. 410 Gone: the resourceVersion is too old; start again from the current state.
      const status = object as unknown as { code?: number; message?: string };
      this.lastError = `watch ERROR ${status.code ?? "?"}: ${status.message ?? ""}`;
      if (status.code === 410) this.resourceVersion = undefined;
      return;
    }
    const rv = object.metadata?.resourceVersion;
    if (rv) this.resourceVersion = rv;
    if (type === "BOOKMARK") return;
    this.events.push({ type: type as WatchEventType, object });
    this.wake();
  }

  private async reconnect(): Promise<void> {
    while (!this.stopped) {
      await sleep(this.backoff());
      if (this.stopped) return;
      if (await this.connect()) return;
    }
  }

  private backoff(): number {
    const ms = BACKOFF_MS[Math.min(this.failures, BACKOFF_MS.length - 1)] ?? 2000;
    this.failures++;
    return ms;
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
