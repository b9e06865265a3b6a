import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from "node:http";
import type { AddressInfo, Server } from "node:net";
import type { Registry } from "prom-client";
import type { Logger } from "../log.js";

export interface MetricsServerOptions {
  readonly registry: Registry;
  /** Whether the component can do its job (an informer synced, a first pass done); /readyz says 503 until then. */
  readonly ready: () => boolean;
  /** Why it is not ready, for /readyz's body. */
  readonly notReadyReason?: () => string;
  readonly logger: Logger;
}

/** The chart's metrics port of the webhook and the controller (pod network); 0 picks a free one. */
export const DEFAULT_METRICS_PORT = 8080;

/**
 * The chart's metrics port of the agent. The agent runs in the node's own network namespace
 * (hostNetwork), where 8080 is often taken by something else on the node, so it gets a port of its own.
 */
export const AGENT_METRICS_PORT = 9810;

/**
 * Where a component serves its metrics: --metrics-port, else $METRICS_PORT, else the component's
 * default (8080; the agent 9810); --metrics-host, else $METRICS_HOST, else every address. One rule for
 * the agent, the webhook and the controller.
 */
export function metricsListenArgs(
  values: { readonly "metrics-port"?: string | undefined; readonly "metrics-host"?: string | undefined },
  env: NodeJS.ProcessEnv,
  defaultPort: number = DEFAULT_METRICS_PORT,
): { readonly port: number; readonly host: string } {
  const text = (values["metrics-port"] ?? env["METRICS_PORT"] ?? String(defaultPort)).trim();
  const port = Number(text);
  if (!/^\d+$/.test(text) || port > 65535) throw new Error(`--metrics-port must be an integer from 0 to 65535, got "${text}"`);
  return { port, host: values["metrics-host"] ?? env["METRICS_HOST"] ?? "0.0.0.0" };
}

/** Listens on host:port and resolves with the address once bound, or rejects with the bind error (EADDRINUSE...). */
export async function listenOn(server: Server, port: number, host: string): Promise<AddressInfo> {
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once("error", onError);
    server.listen(port, host, () => {
      server.off("error", onError);
      resolve();
    });
  });
  return server.address() as AddressInfo;
}

function send(res: ServerResponse, status: number, contentType: string, body: string): void {
  res.writeHead(status, { "content-type": contentType, "content-length": Buffer.byteLength(body) });
  res.end(body);
}

/**
 * Every component's plain-HTTP port: GET /metrics (Prometheus text format), /healthz (the process
 * answers) and /readyz (it can do its job). One server, one port, so one probe configuration and one
 * scrape configuration fit every component.
 */
export class MetricsServer {
  private readonly server: HttpServer;

  constructor(private readonly options: MetricsServerOptions) {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        options.logger.error({ err, path: req.url }, "metrics request failed");
        if (!res.headersSent) send(res, 500, "text/plain; charset=utf-8", "internal error");
      });
    });
    this.server.keepAliveTimeout = 65_000;
    this.server.requestTimeout = 30_000;
  }

  listen(port: number, host: string): Promise<AddressInfo> {
    return listenOn(this.server, port, host);
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.setHeader("allow", "GET, HEAD");
      send(res, 405, "text/plain; charset=utf-8", "use GET");
      return;
    }
    switch (path) {
      case "/metrics":
        send(res, 200, this.options.registry.contentType, await this.options.registry.metrics());
        return;
      case "/healthz":
        send(res, 200, "text/plain; charset=utf-8", "ok");
        return;
      case "/readyz": {
        const ready = this.options.ready();
        send(res, ready ? 200 : 503, "text/plain; charset=utf-8", ready ? "ok" : (this.options.notReadyReason?.() ?? "not ready"));
        return;
      }
      default:
        send(res, 404, "text/plain; charset=utf-8", `no handler for ${path ?? "/"}; try /metrics, /healthz or /readyz`);
    }
  }
}
