import { createServer, type Server, type Socket } from "node:net";
import { KubeConfig } from "@kubernetes/client-node";

/**
 * A TCP server that accepts connections and never answers (a hung API server, a black-holed
 * proxy), with a kubeconfig that points at it. close() destroys the held connections.
 */
export class SilentServer {
  private readonly sockets = new Set<Socket>();
  /** Connections accepted so far. */
  accepted = 0;

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(): Promise<SilentServer> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const address = server.address();
    if (!address || typeof address === "string") throw new Error("silent server: no port");
    const silent = new SilentServer(server, address.port);
    server.on("connection", (s) => {
      silent.accepted++;
      silent.sockets.add(s);
      s.on("close", () => silent.sockets.delete(s));
    });
    return silent;
  }

  /** A kubeconfig for https://127.0.0.1:PORT with a token (the TLS handshake itself never completes). */
  kubeConfig(scheme: "https" | "http" = "https"): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: "silent", server: `${scheme}://127.0.0.1:${this.port}`, skipTLSVerify: true }],
      users: [{ name: "u", token: "t" }],
      contexts: [{ name: "silent", cluster: "silent", user: "u" }],
      currentContext: "silent",
    });
    return kc;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
