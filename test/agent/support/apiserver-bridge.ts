import { spawn, type ChildProcess } from "node:child_process";
import { rm } from "node:fs/promises";
import { connect, createServer, type Server, type Socket } from "node:net";
import { join } from "node:path";

/**
 * Lets a process inside a network namespace reach the test's kube-apiserver on the host's
 * 127.0.0.1:PORT, without touching the host's network configuration: a forwarder inside the
 * namespace listens on its own 127.0.0.1:PORT and relays bytes over a Unix socket (a file, which
 * network namespaces do not separate) to a relay in the test process that connects to the real
 * 127.0.0.1:PORT. TLS runs end to end, so the kubeconfig's server URL and CA work unchanged.
 */

const NS_FORWARDER = `
const net = require("node:net");
const [port, path] = process.argv.slice(1);
net.createServer((c) => {
  const u = net.connect(path);
  c.pipe(u).pipe(c);
  const end = () => { c.destroy(); u.destroy(); };
  c.on("error", end); u.on("error", end);
}).listen(Number(port), "127.0.0.1", () => process.stdout.write("listening\\n"));
`;

export interface ApiserverBridge {
  close(): Promise<void>;
}

export async function bridgeApiserver(ns: string, port: number, dir: string): Promise<ApiserverBridge> {
  const path = join(dir, `apiserver-${port}.sock`);
  await rm(path, { force: true });
  const sockets = new Set<Socket>();
  const relay: Server = createServer((c) => {
    const up = connect(port, "127.0.0.1");
    sockets.add(c).add(up);
    c.pipe(up).pipe(c);
    const end = (): void => {
      c.destroy();
      up.destroy();
      sockets.delete(c);
      sockets.delete(up);
    };
    c.on("error", end).on("close", end);
    up.on("error", end).on("close", end);
  });
  await new Promise<void>((resolve) => relay.listen(path, resolve));
  const forwarder: ChildProcess = spawn("ip", ["netns", "exec", ns, process.execPath, "-e", NS_FORWARDER, String(port), path], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  await new Promise<void>((resolve, reject) => {
    forwarder.once("exit", (code) => reject(new Error(`netns forwarder exited (${code})`)));
    forwarder.stdout?.setEncoding("utf8");
    forwarder.stdout?.on("data", (d: string) => {
      if (d.includes("listening")) resolve();
    });
  });
  return {
    async close() {
      forwarder.kill("SIGKILL");
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => relay.close(() => resolve()));
      await rm(path, { force: true });
    },
  };
}
