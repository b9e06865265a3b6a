import { pino, type Logger, type LoggerOptions } from "pino";
import { apiErrorInfo, isApiException } from "./kube/api-error.js";

export type { Logger } from "pino";

/**
 * Log keys, one vocabulary across components: `err` for errors (always through the serializer
 * below), `controller` for the reconciler, `object` for an object's name, `node` for a Node's
 * name, `policy` for a TcpTuningPolicy's name. `sysctl` names a sysctl.
 */
export type LogKey = "err" | "controller" | "object" | "node" | "policy" | "sysctl";

/** What an `err` becomes in a log line. */
export interface SerializedError {
  readonly type?: string;
  readonly message: string;
  /** HTTP status of a failed Kubernetes API call. */
  readonly status?: number;
  /** metav1.Status reason (NotFound, Conflict, ...) or an errno code (ECONNREFUSED). */
  readonly reason?: string;
  readonly code?: string | number;
  readonly stack?: string;
  readonly cause?: SerializedError;
  readonly [extra: string]: unknown;
}

/** Own properties never copied into a log line: bulky or secret-bearing (client-node's headers and bodies). */
const NEVER_LOGGED = new Set(["headers", "body", "response", "request", "config", "message", "stack", "name", "cause"]);

/**
 * The `err` serializer. An API error (client-node's ApiException) logs its status, reason and the
 * Status message only: never its response headers or raw body, which client-node also puts into
 * the exception's message. Other errors log type, message, stack, primitive own properties (errno
 * code, syscall, path, sysctl, ...) and their cause, serialized the same way.
 */
export function serializeErr(err: unknown, depth = 0): SerializedError {
  if (isApiException(err)) {
    const info = apiErrorInfo(err);
    return {
      type: "ApiException",
      message: info.message,
      ...(info.status !== undefined ? { status: info.status } : {}),
      ...(info.reason !== undefined ? { reason: info.reason } : {}),
    };
  }
  if (err instanceof Error) {
    const extra: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(err)) {
      if (NEVER_LOGGED.has(key)) continue;
      if (value === null || ["string", "number", "boolean"].includes(typeof value)) extra[key] = value;
    }
    const cause = err.cause !== undefined && depth < 5 ? { cause: serializeErr(err.cause, depth + 1) } : {};
    return { ...extra, type: err.name, message: err.message, ...(err.stack !== undefined ? { stack: err.stack } : {}), ...cause };
  }
  const info = apiErrorInfo(err);
  return {
    message: info.message,
    ...(info.status !== undefined ? { status: info.status } : {}),
    ...(info.reason !== undefined ? { reason: info.reason } : {}),
  };
}

/** Logger options every component shares: string levels, ISO-8601 times, the err serializer. */
export function loggerOptions(name: string, level: string): LoggerOptions {
  return {
    name,
    level,
    formatters: { level: (label) => ({ level: label }) },
    timestamp: pino.stdTimeFunctions.isoTime,
    serializers: { err: (err: unknown) => serializeErr(err) },
  };
}

/**
 * The one place loggers are made. JSON lines by default (what log collectors want);
 * human-friendly output when stderr is a terminal or LOG_FORMAT=pretty.
 * Logs go to stderr so that a command's stdout stays machine-readable.
 */
export function createLogger(name: string, options: { level?: string; pretty?: boolean } = {}): Logger {
  const level = options.level ?? process.env["LOG_LEVEL"] ?? "info";
  const pretty = options.pretty ?? (process.env["LOG_FORMAT"] === "pretty" || (process.env["LOG_FORMAT"] !== "json" && process.stderr.isTTY === true));
  const base = loggerOptions(name, level);
  if (pretty) {
    return pino({ ...base, transport: { target: "pino-pretty", options: { destination: 2, colorize: true } } });
  }
  return pino(base, pino.destination({ dest: 2, sync: true }));
}
