import type { IncomingMessage, Server, ServerResponse } from "node:http";
import { createServer, request as httpsRequest } from "node:https";
import type { AddressInfo } from "node:net";
import { readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { KubeConfig } from "@kubernetes/client-node";
import { stringify } from "yaml";

/** One request as the proxy saw it. */
export interface ProxiedRequest {
  readonly method: string;
  readonly path: string;
  readonly contentType: string | undefined;
  /** performance.now() when it arrived. */
  readonly at: number;
  /** The 429's Retry-After in seconds when the proxy refused it; undefined when forwarded. */
  readonly throttledFor?: number;
}

/** Decides, per request, whether to answer 429 and with which Retry-After (seconds). */
export type ThrottleRule = (req: { method: string; path: string; query: URLSearchParams; seen: readonly ProxiedRequest[] }) => number | undefined;

/**
 * A small HTTP proxy in front of the real apiserver that answers chosen requests with
 * `429 Too Many Requests` + `Retry-After` (as API Priority and Fairness does) and forwards the rest,
 * streams (watches) included, with the admin's client certificate. Clients reach it through
 * `kubeconfigPath`: HTTPS with the test control plane's serving certificate (client-node refuses
 * plain http), no client credentials (the proxy is the one that authenticates).
 */
export class ThrottlingProxy {
  readonly requests: ProxiedRequest[] = [];
  throttle: ThrottleRule = () => undefined;

  private constructor(
    private readonly server: Server,
    readonly url: string,
    readonly kubeconfigPath: string,
  ) {}

  /** `adminKubeconfig`: the control plane's (its folder holds serving.crt/.key, see control-plane.ts). */
  static async start(admin: KubeConfig, adminKubeconfig: string, kubeconfigPath: string): Promise<ThrottlingProxy> {
    const cluster = admin.getCurrentCluster();
    if (!cluster) throw new Error("no current cluster in the admin kubeconfig");
    const tls: { ca?: Buffer | string; cert?: Buffer | string; key?: Buffer | string } = {};
    await admin.applyToHTTPSOptions(tls as never);
    const upstream = new URL(cluster.server);
    let proxy: ThrottlingProxy | undefined;
    const pkiDir = dirname(adminKubeconfig);
    const serving = { cert: await readFile(join(pkiDir, "serving.crt")), key: await readFile(join(pkiDir, "serving.key")) };
    const server = createServer(serving, (req: IncomingMessage, res: ServerResponse) => {
      const p = proxy!;
      const url = new URL(req.url ?? "/", "https://proxy");
      const seen: ProxiedRequest = { method: req.method ?? "GET", path: url.pathname, contentType: req.headers["content-type"], at: performance.now() };
      const retryAfter = p.throttle({ method: seen.method, path: url.pathname, query: url.searchParams, seen: p.requests });
      if (retryAfter !== undefined) {
        p.requests.push({ ...seen, throttledFor: retryAfter });
        req.resume();
        const body = JSON.stringify({
          kind: "Status",
          apiVersion: "v1",
          status: "Failure",
          message: "Too many requests, please try again later.",
          reason: "TooManyRequests",
          details: { retryAfterSeconds: retryAfter },
          code: 429,
        });
        res.writeHead(429, { "content-type": "application/json", "retry-after": String(retryAfter), "content-length": Buffer.byteLength(body) });
        res.end(body);
        return;
      }
      p.requests.push(seen);
      const headers = { ...req.headers, host: upstream.host };
      // Only the TLS material of the admin options: applyToHTTPSOptions also sets `headers`, which must not replace the client's.
      const out = httpsRequest(
        { ca: tls.ca, cert: tls.cert, key: tls.key, hostname: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers },
        (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        },
      );
      out.on("error", (err) => {
        if (!res.headersSent) res.writeHead(502, { "content-type": "text/plain" });
        res.end(`proxy: ${err.message}`);
      });
      res.on("close", () => out.destroy());
      req.pipe(out);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
    await writeFile(
      kubeconfigPath,
      stringify({
        apiVersion: "v1",
        kind: "Config",
        clusters: [
          { name: "proxy", cluster: { server: url, "certificate-authority-data": cluster.caData ?? Buffer.from(String(tls.ca ?? "")).toString("base64") } },
        ],
        users: [{ name: "through-proxy", user: {} }],
        contexts: [{ name: "proxy", context: { cluster: "proxy", user: "through-proxy" } }],
        "current-context": "proxy",
      }),
    );
    proxy = new ThrottlingProxy(server, url, kubeconfigPath);
    return proxy;
  }

  kubeConfig(): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromFile(this.kubeconfigPath);
    return kc;
  }

  /** The requests to a path (optionally one method), in order. */
  to(path: string, method?: string): ProxiedRequest[] {
    return this.requests.filter((r) => r.path === path && (method === undefined || r.method === method));
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
