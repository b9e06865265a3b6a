import { createServer, type Server } from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import type { TLSSocket } from "node:tls";
import { performance } from "node:perf_hooks";
import type { Logger } from "../log.js";
import { listenOn, type WebhookMetrics } from "../metrics/index.js";
import type { ClassReport, Finding } from "../rules/index.js";
import { admit, parseReview, type NodeSnapshot, type Outcome } from "./admission.js";
import type { KeyPair } from "../certs/index.js";
import { LatencyWindow } from "./latency.js";

export const VALIDATE_PATH = "/validate";
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

export interface WebhookServerOptions {
  readonly tls: KeyPair;
  /** The node cache's current snapshot, read once per request (never a LIST). */
  readonly snapshot: () => NodeSnapshot;
  /** Whether the webhook can judge: the node cache has synced and a serving certificate is loaded. */
  readonly ready: () => boolean;
  readonly logger: Logger;
  readonly path?: string;
  readonly maxBodyBytes?: number;
  /** How long a connection that has not sent a byte of a request may stay open (default: keepAliveTimeout, 120 s). */
  readonly unusedConnectionTimeoutMs?: number;
  /** Node's headers timeout: a request whose headers have not all arrived by then gets a 408 (default 10 s). */
  readonly headersTimeoutMs?: number;
  /** Node's request timeout: a whole request (headers and body) must arrive within it (default 30 s). */
  readonly requestTimeoutMs?: number;
  /** How often Node checks those two timeouts (default 30 s; tests shorten it). */
  readonly connectionsCheckingIntervalMs?: number;
  /** Where request durations, outcomes and findings are counted (Prometheus). */
  readonly metrics?: WebhookMetrics;
}

/** One finding per kind (rule, severity, sysctl) in a report, without naming nodes: what the metrics count. */
function findingKinds(report: ClassReport): Finding[] {
  const kinds = new Map<string, Finding>();
  const add = (f: Finding): void => {
    kinds.set(`${f.severity}\u0000${f.rule}\u0000${f.sysctl ?? ""}`, f);
  };
  report.findings.forEach(add);
  for (const c of report.classes) for (const cf of c.findings) add(cf.finding);
  return [...kinds.values()];
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Reads a body up to `limit` bytes; a larger one is an HttpError 400 as soon as it is known (the issue asks for 400 for every bad request; the apiserver treats any non-200 alike). */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers["content-length"] ?? "NaN");
  if (Number.isFinite(declared) && declared > limit)
    return Promise.reject(new HttpError(400, `request body of ${declared} bytes is over the ${limit}-byte limit`));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on("data", (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > limit) {
        done = true;
        reject(new HttpError(400, `request body is over the ${limit}-byte limit`));
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => {
      if (!done) {
        done = true;
        resolve(Buffer.concat(chunks));
      }
    });
    req.on("error", (err) => {
      if (!done) {
        done = true;
        reject(err);
      }
    });
  });
}

function send(res: ServerResponse, status: number, body: unknown, close = false): void {
  if (res.headersSent) return;
  const text = typeof body === "string" ? body : JSON.stringify(body);
  const headers: Record<string, string | number> = {
    "content-type": typeof body === "string" ? "text/plain; charset=utf-8" : "application/json",
    "content-length": Buffer.byteLength(text),
  };
  if (close) headers["connection"] = "close";
  res.writeHead(status, headers);
  res.end(text);
}

/** A 4xx/5xx body: a metav1.Status, what Kubernetes clients expect to read. */
function failure(code: number, message: string): Record<string, unknown> {
  return { apiVersion: "v1", kind: "Status", status: "Failure", code, message };
}

/**
 * The admission webhook's HTTPS server: POST /validate takes an AdmissionReview v1 and answers one;
 * /healthz says the process is alive, /readyz that it can judge. Bad requests get a 400 (or 405,
 * 415) with a reason and never take the server down. The serving certificate can be swapped at runtime.
 */
export class WebhookServer {
  readonly latency = new LatencyWindow();
  readonly outcomes = new Map<Outcome | "bad-request" | "error", number>();
  /** Connections whose headers timeout fired: kept silent (never carried a byte) or answered 408 (stalled mid-request). */
  readonly timeouts = { keptSilent: 0, answered408: 0 };
  private readonly server: Server;
  private readonly path: string;
  private readonly maxBodyBytes: number;
  private draining = false;
  /** Connections that have carried at least one byte of HTTP (after the TLS handshake). */
  private readonly used = new WeakSet<object>();
  /** When each connection's TLS handshake finished (performance.now()). */
  private readonly acceptedAt = new WeakMap<object, number>();

  constructor(private readonly options: WebhookServerOptions) {
    this.path = options.path ?? VALIDATE_PATH;
    this.maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    const keepAliveMs = 120_000;
    const unusedMs = options.unusedConnectionTimeoutMs ?? keepAliveMs;
    this.server = createServer(
      {
        cert: options.tls.certPem,
        key: options.tls.keyPem,
        minVersion: "TLSv1.2",
        connectionsCheckingInterval: options.connectionsCheckingIntervalMs ?? 30_000,
      },
      (req, res) => {
        // Timed from the moment the request reaches us until its reply is flushed to the socket: the
        // TLS write of the reply is part of what the apiserver waits for. (Time spent queued before the
        // event loop reads the request shows as event-loop lag, nodejs_eventloop_lag_seconds; the
        // apiserver's apiserver_admission_webhook_admission_duration_seconds sees both.)
        const started = performance.now();
        res.once("finish", () => this.finished(req, started));
        this.handle(req, res).catch((err: unknown) => {
          this.count("error");
          options.logger.error({ err, path: req.url }, "webhook request failed");
          send(res, 500, failure(500, "internal error"));
        });
      },
    );
    this.server.requestTimeout = options.requestTimeoutMs ?? 30_000;
    this.server.headersTimeout = options.headersTimeoutMs ?? 10_000;
    // Longer than the apiserver's idle-connection timeout (Go's 90 s), so it is always the client that
    // closes an idle connection: a server-side close can race with a POST the client just sent on it.
    this.server.keepAliveTimeout = keepAliveMs;
    this.server.on("secureConnection", (socket: TLSSocket) => {
      this.acceptedAt.set(socket, performance.now());
      socket.once("data", () => this.used.add(socket));
    });
    this.server.on("tlsClientError", (err, socket) => {
      options.logger.debug({ err: { message: err.message }, remote: socket.remoteAddress }, "TLS handshake failed");
    });
    this.server.on("clientError", (err: NodeJS.ErrnoException, socket) => {
      // Node starts the headers timeout of a new connection at accept, as a guard against connections
      // that never send anything; it fires on a connection the client opened and keeps idle in its pool
      // (Go's transport dials ahead). Answering it, as this handler once did with a 400 + close, puts an
      // unsolicited response on a connection the apiserver may be sending a POST on that very moment,
      // which Go then reads as that POST's answer (or fails it: Go retries no POST on a fresh
      // connection). Such a connection is kept, silent, for as long as an idle keep-alive one
      // (longer than Go's 90 s), so the client is the one that closes it; then it is destroyed.
      if (err.code === "ERR_HTTP_REQUEST_TIMEOUT" && !this.used.has(socket)) {
        this.timeouts.keptSilent++;
        const open = performance.now() - (this.acceptedAt.get(socket) ?? performance.now());
        (socket as Socket).setTimeout(Math.max(1, unusedMs - open), () => {
          if (!this.used.has(socket)) socket.destroy();
        });
        return;
      }
      options.logger.debug({ err: { message: err.message, code: err.code } }, "bad HTTP request");
      if (!socket.writable || err.code === "ECONNRESET") {
        socket.destroy();
        return;
      }
      if (err.code === "ERR_HTTP_REQUEST_TIMEOUT") this.timeouts.answered408++;
      const status =
        err.code === "ERR_HTTP_REQUEST_TIMEOUT"
          ? "408 Request Timeout"
          : err.code === "HPE_HEADER_OVERFLOW"
            ? "431 Request Header Fields Too Large"
            : "400 Bad Request";
      socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
    });
  }

  /**
   * Replaces the serving certificate (certificate rotation): new connections get it at once, open
   * keep-alive connections keep the certificate they were verified with. Idle connections are NOT
   * closed here: the apiserver may be sending a POST on one at that very moment, and Go's HTTP client
   * does not retry a POST on a reset connection (measured: 5 of 1,449 admissions failed that way).
   */
  setTls(pair: KeyPair): void {
    this.server.setSecureContext({ cert: pair.certPem, key: pair.keyPem, minVersion: "TLSv1.2" });
    this.options.logger.info("serving certificate replaced");
  }

  /** Shutting down: /readyz says 503 so the pod leaves the Service, while admissions are still answered. */
  drain(): void {
    this.draining = true;
  }

  get isDraining(): boolean {
    return this.draining;
  }

  listen(port: number, host: string): Promise<AddressInfo> {
    return listenOn(this.server, port, host);
  }

  /** Stops accepting connections, lets requests in flight finish for up to graceMs, then closes the rest. */
  async close(graceMs = 5000): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    const timer = setTimeout(() => this.server.closeAllConnections(), graceMs);
    await closed;
    clearTimeout(timer);
  }

  /** The outcome of the request on each response, for the duration metric (set by the handler). */
  private readonly outcomeOf = new WeakMap<IncomingMessage, Outcome | "bad-request" | "error">();

  private count(key: Outcome | "bad-request" | "error", req?: IncomingMessage): void {
    this.outcomes.set(key, (this.outcomes.get(key) ?? 0) + 1);
    this.options.metrics?.admissions.inc({ outcome: key });
    if (req) this.outcomeOf.set(req, key);
  }

  private finished(req: IncomingMessage, started: number): void {
    const outcome = this.outcomeOf.get(req);
    if (outcome === undefined) return; // health probes and 404s are not admissions
    const ms = performance.now() - started;
    this.latency.record(ms);
    this.options.metrics?.requestDuration.observe({ outcome }, ms / 1000);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "https://webhook");
    if (url.pathname === "/healthz") {
      send(res, 200, "ok");
      return;
    }
    if (url.pathname === "/readyz") {
      const ready = !this.draining && this.options.ready();
      send(res, ready ? 200 : 503, ready ? "ok" : this.draining ? "shutting down" : "node cache not synced yet");
      return;
    }
    if (url.pathname !== this.path) {
      send(res, 404, failure(404, `no handler for ${url.pathname}; admission reviews go to POST ${this.path}`));
      return;
    }
    if (req.method !== "POST") {
      res.setHeader("allow", "POST");
      send(res, 405, failure(405, `${req.method ?? "?"} is not allowed on ${this.path}; use POST`));
      return;
    }
    const type = (req.headers["content-type"] ?? "application/json").split(";")[0]?.trim().toLowerCase();
    if (type !== "application/json") {
      this.count("bad-request", req);
      send(res, 415, failure(415, `content-type ${type ?? ""} is not supported; send application/json`), true);
      return;
    }
    let body: Buffer;
    try {
      body = await readBody(req, this.maxBodyBytes);
    } catch (err) {
      this.count("bad-request", req);
      const status = err instanceof HttpError ? err.status : 400;
      const message = err instanceof Error ? err.message : "unreadable body";
      this.options.logger.warn({ status, reason: message }, "admission request refused");
      send(res, status, failure(status, message), true);
      return;
    }
    let decoded: unknown;
    try {
      decoded = JSON.parse(body.toString("utf8"));
    } catch (err) {
      this.count("bad-request", req);
      const reason = `malformed JSON: ${err instanceof Error ? err.message : "parse error"}`;
      this.options.logger.warn({ status: 400, reason }, "admission request refused");
      send(res, 400, failure(400, reason));
      return;
    }
    const parsed = parseReview(decoded);
    if (!parsed.ok) {
      this.count("bad-request", req);
      this.options.logger.warn({ status: 400, reason: parsed.reason }, "admission request refused");
      send(res, 400, failure(400, parsed.reason));
      return;
    }
    const judging = performance.now();
    const result = admit(parsed.request, this.options.snapshot());
    const ms = performance.now() - judging;
    this.count(result.outcome, req);
    if (result.report && this.options.metrics) this.options.metrics.recordFindings(findingKinds(result.report));
    send(res, 200, result.review);
    this.options.logger.info(
      {
        uid: parsed.request.uid,
        operation: parsed.request.operation,
        name: parsed.request.name,
        user: parsed.request.userInfo?.username,
        dryRun: parsed.request.dryRun,
        outcome: result.outcome,
        allowed: result.review.response.allowed,
        warnings: result.review.response.warnings?.length ?? 0,
        judgeMs: Math.round(ms * 1000) / 1000,
      },
      "admission",
    );
  }
}
