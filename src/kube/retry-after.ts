/**
 * 429 Too Many Requests with `Retry-After`: the API server's priority and fairness (and any proxy in
 * front of it) says "not now, come back in N seconds". An idempotent request (GET, HEAD, and
 * server-side apply, which converges to the same object however often it is sent) waits that long
 * and is sent again, a bounded number of times; anything else (a create, a merge patch, a delete)
 * gets the 429 as its answer, since sending it twice could do twice. The wait counts against the
 * request's own timeout (timeout.ts): an abort during the wait ends it at once.
 *
 * `makeApiClient` (client.ts) puts this under every API client, so one place decides for all.
 */
import { IsomorphicFetchHttpLibrary, wrapHttpLibrary, type HttpLibrary, type RequestContext, type ResponseContext } from "@kubernetes/client-node";

export const RETRY_AFTER_DEFAULTS = {
  /** Retries after the first 429 (so at most 1 + maxRetries requests). */
  maxRetries: 3,
  /** A longer Retry-After is waited only this long (the server's hint, not a promise). */
  maxWaitMs: 10_000,
  /** When a 429 has no usable Retry-After. */
  fallbackMs: 1_000,
} as const;

export interface RetryAfterOptions {
  readonly maxRetries?: number;
  readonly maxWaitMs?: number;
  readonly fallbackMs?: number;
  /** Told about every retry (logs, tests). */
  readonly onRetry?: (info: { readonly request: string; readonly attempt: number; readonly waitMs: number }) => void;
}

const APPLY_PATCH = "application/apply-patch+yaml";

/** Whether sending this request again cannot do more than sending it once. */
export function isIdempotentRequest(method: string, contentType: string | undefined): boolean {
  const m = method.toUpperCase();
  if (m === "GET" || m === "HEAD" || m === "OPTIONS") return true;
  return m === "PATCH" && (contentType ?? "").split(";")[0]!.trim().toLowerCase() === APPLY_PATCH;
}

/** Milliseconds to wait from a Retry-After header: delta-seconds or an HTTP date; undefined when unusable. */
export function parseRetryAfter(value: string | undefined, nowMs: number = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  // An HTTP date is always in GMT ("Wed, 21 Oct 2015 07:28:00 GMT"); anything else is not one.
  const at = /GMT$/.test(v) ? Date.parse(v) : NaN;
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason instanceof Error ? signal.reason : new Error("aborted"));
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason instanceof Error ? signal.reason : new Error("aborted"));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

function header(headers: Record<string, string>, name: string): string | undefined {
  const key = Object.keys(headers).find((k) => k.toLowerCase() === name);
  return key === undefined ? undefined : headers[key];
}

/** An HttpLibrary that honours 429 + Retry-After for idempotent requests, around `inner` (client-node's fetch by default). */
export function retryAfterHttpLibrary(options: RetryAfterOptions = {}, inner: HttpLibrary = new IsomorphicFetchHttpLibrary()): HttpLibrary {
  const maxRetries = options.maxRetries ?? RETRY_AFTER_DEFAULTS.maxRetries;
  const maxWaitMs = options.maxWaitMs ?? RETRY_AFTER_DEFAULTS.maxWaitMs;
  const fallbackMs = options.fallbackMs ?? RETRY_AFTER_DEFAULTS.fallbackMs;
  return wrapHttpLibrary({
    async send(request: RequestContext): Promise<ResponseContext> {
      const idempotent = isIdempotentRequest(request.getHttpMethod().toString(), header(request.getHeaders(), "content-type"));
      for (let attempt = 1; ; attempt++) {
        const response = await inner.send(request).toPromise();
        if (response.httpStatusCode !== 429 || !idempotent || attempt > maxRetries) return response;
        const waitMs = Math.min(maxWaitMs, parseRetryAfter(header(response.headers, "retry-after")) ?? fallbackMs);
        // The 429's body is not wanted: read it so the connection goes back to the pool.
        await response.body.text().catch(() => undefined);
        options.onRetry?.({ request: `${request.getHttpMethod().toString()} ${new URL(request.getUrl()).pathname}`, attempt, waitMs });
        await sleep(waitMs, request.getSignal());
      }
    },
  });
}
