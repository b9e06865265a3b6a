/**
 * Timeouts for calls to the API server. A call that never gets an answer (a dead apiserver whose
 * connection stays open, a black-holed network) must fail, not hang the caller or its shutdown.
 *
 * - `timeoutMiddleware(ms)`: client-node 2.x request middleware that gives every request an AbortSignal
 *   that fires after `ms`, covering connect, headers and body; `makeApiClient` (client.ts) installs it.
 * - `withTimeout(promise, ms, what)`: for anything else that returns a promise (aborts the given
 *   controller too, when there is one).
 * Both fail with an `ApiTimeoutError` that says what timed out and after how long.
 */
import type { Middleware, RequestContext, ResponseContext } from "@kubernetes/client-node";

/** The default limit for one API request (LIST of a large collection included). */
export const DEFAULT_API_TIMEOUT_MS = 30_000;

export class ApiTimeoutError extends Error {
  constructor(
    readonly what: string,
    readonly timeoutMs: number,
  ) {
    super(`${what} timed out after ${timeoutMs} ms`);
    this.name = "ApiTimeoutError";
  }
}

export const isApiTimeout = (err: unknown): err is ApiTimeoutError => err instanceof ApiTimeoutError;

/** "GET /api/v1/nodes" from a request's method and URL (no query: it may be long). */
export function describeRequest(ctx: RequestContext): string {
  let path = ctx.getUrl();
  try {
    path = new URL(path).pathname;
  } catch {
    // keep the raw URL
  }
  return `${ctx.getHttpMethod()} ${path}`;
}

/**
 * A signal that aborts after `ms` with an ApiTimeoutError, or when `parent` aborts (a shutdown).
 * The timer is unref'd: it never keeps a process alive, and firing after the request ended is harmless.
 */
export function timeoutSignal(ms: number, what: string, parent?: AbortSignal): AbortSignal {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new ApiTimeoutError(what, ms)), ms);
  timer.unref();
  if (parent) {
    if (parent.aborted) controller.abort(parent.reason);
    else parent.addEventListener("abort", () => controller.abort(parent.reason), { once: true, signal: controller.signal });
  }
  return controller.signal;
}

/** Middleware for client-node API clients: each request gets `timeoutSignal(ms, "GET /path", parent)`. */
export function timeoutMiddleware(ms: number, parent?: AbortSignal): Middleware {
  return {
    pre: (ctx: RequestContext): Promise<RequestContext> => {
      ctx.setSignal(timeoutSignal(ms, describeRequest(ctx), parent));
      return Promise.resolve(ctx);
    },
    post: (res: ResponseContext): Promise<ResponseContext> => Promise.resolve(res),
  };
}

/**
 * Settles like `promise`, or rejects with an ApiTimeoutError after `ms` (and aborts `abort`, when
 * given, so the work behind the promise stops too).
 */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string, abort?: AbortController): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      const err = new ApiTimeoutError(what, ms);
      abort?.abort(err);
      reject(err);
    }, ms);
    timer.unref();
    promise.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}
