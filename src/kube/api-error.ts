import type { ApiException } from "@kubernetes/client-node";

/** What a failed Kubernetes API call said, without the headers and bodies client-node puts in its message. */
export interface ApiErrorInfo {
  /** HTTP status code, when the server answered. */
  readonly status: number | undefined;
  /** metav1.Status reason (NotFound, Conflict, AlreadyExists, Invalid, ...), when the body carried one. */
  readonly reason: string | undefined;
  readonly message: string;
}

function statusBody(body: unknown): { reason?: unknown; message?: unknown } | undefined {
  if (body && typeof body === "object") return body as { reason?: unknown; message?: unknown };
  if (typeof body === "string" && body.trimStart().startsWith("{")) {
    try {
      return JSON.parse(body) as { reason?: unknown; message?: unknown };
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/**
 * Whether client-node threw this: an Error with a numeric HTTP `code`, a `body` and the response
 * `headers`. Told by shape, not instanceof, so that src/log.ts (the err serializer) can use this file
 * without loading the Kubernetes client into commands that do not need it.
 */
export function isApiException(err: unknown): err is ApiException<unknown> {
  return err instanceof Error && typeof (err as { code?: unknown }).code === "number" && "body" in err && "headers" in err;
}

/** Status code, reason and a one-line message from whatever a client-node call threw. */
export function apiErrorInfo(err: unknown): ApiErrorInfo {
  if (isApiException(err)) {
    const body = statusBody(err.body);
    const reason = typeof body?.reason === "string" ? body.reason : undefined;
    const message =
      typeof body?.message === "string" ? body.message : typeof err.body === "string" && err.body !== "" ? err.body.slice(0, 500) : `HTTP ${err.code}`;
    return { status: err.code, reason, message };
  }
  if (err && typeof err === "object") {
    const e = err as { statusCode?: unknown; code?: unknown; message?: unknown };
    const status = typeof e.statusCode === "number" ? e.statusCode : typeof e.code === "number" ? e.code : undefined;
    const message = typeof e.message === "string" ? e.message : String(err);
    return { status, reason: typeof e.code === "string" ? e.code : undefined, message };
  }
  return { status: undefined, reason: undefined, message: String(err) };
}

/** "409 Conflict: the object has been modified..." for logs and wrapped errors. */
export function describeApiError(err: unknown): string {
  const i = apiErrorInfo(err);
  return [i.status, i.reason].filter((x) => x !== undefined).join(" ") + (i.status !== undefined || i.reason ? ": " : "") + i.message;
}

export const isNotFound = (err: unknown): boolean => apiErrorInfo(err).status === 404;
export const isConflict = (err: unknown): boolean => apiErrorInfo(err).status === 409 && apiErrorInfo(err).reason !== "AlreadyExists";
export const isAlreadyExists = (err: unknown): boolean => apiErrorInfo(err).reason === "AlreadyExists";

/** An Error that keeps the cause and says what was being done. */
export function wrapApiError(what: string, err: unknown): Error {
  return new Error(`${what}: ${describeApiError(err)}`, { cause: err });
}
