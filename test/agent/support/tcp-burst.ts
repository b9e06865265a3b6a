import { execFile, spawn, type ChildProcess } from "node:child_process";
import { promisify } from "node:util";
import { nsExec } from "./netns.js";

const run = promisify(execFile);

/**
 * Two namespaces joined by a veth pair, a TCP server in one and a burst of short connections from
 * the other, where the CLIENT closes first (so TIME_WAIT sits on the client, holding its ports).
 */

export const SERVER_ADDR = "10.231.0.2";
export const CLIENT_ADDR = "10.231.0.1";
export const SERVER_PORT = 8080;

export async function joinWithVeth(clientNs: string, serverNs: string): Promise<void> {
  // Created inside the client namespace and its peer moved straight into the server namespace:
  // the host namespace never sees either end.
  await nsExec(clientNs, ["ip", "link", "add", "ttc0", "type", "veth", "peer", "name", "tts0", "netns", serverNs]);
  await nsExec(clientNs, ["ip", "addr", "add", `${CLIENT_ADDR}/30`, "dev", "ttc0"]);
  await nsExec(serverNs, ["ip", "addr", "add", `${SERVER_ADDR}/30`, "dev", "tts0"]);
  await nsExec(clientNs, ["ip", "link", "set", "ttc0", "up"]);
  await nsExec(serverNs, ["ip", "link", "set", "tts0", "up"]);
}

/** Accepts, and closes only after the client's FIN: the server is the passive closer. */
const SERVER = `
const net = require("node:net");
const server = net.createServer({ allowHalfOpen: true }, (s) => {
  s.on("error", () => {});
  s.resume();
  s.on("end", () => s.end());
});
server.listen(${SERVER_PORT}, "${SERVER_ADDR}", () => process.stdout.write("listening\\n"));
`;

/**
 * N sequential connections, gapMs apart; each: connect, end() at once (active close), wait for the
 * server's FIN. The gap lets a TIME_WAIT socket age past the reuse delay before its port comes round again.
 */
const CLIENT = `
const net = require("node:net");
const [count, gapMs] = process.argv.slice(1).map(Number);
function once() {
  return new Promise((resolve) => {
    const s = net.connect({ host: "${SERVER_ADDR}", port: ${SERVER_PORT} });
    s.on("connect", () => s.end());
    s.on("error", (err) => resolve(err.code || String(err)));
    s.on("close", (hadError) => { if (!hadError) resolve("ok"); });
    s.resume();
  });
}
(async () => {
  const outcomes = {};
  for (let i = 0; i < count; i++) {
    const r = await once();
    outcomes[r] = (outcomes[r] || 0) + 1;
    await new Promise((r) => setTimeout(r, gapMs));
  }
  process.stdout.write(JSON.stringify(outcomes) + "\\n");
})();
`;

export async function startServer(ns: string): Promise<ChildProcess> {
  const child = spawn("ip", ["netns", "exec", ns, process.execPath, "-e", SERVER], { stdio: ["ignore", "pipe", "inherit"] });
  await new Promise<void>((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`server exited early (${code})`)));
    child.stdout?.setEncoding("utf8");
    child.stdout?.on("data", (d: string) => {
      if (d.includes("listening")) resolve();
    });
  });
  return child;
}

export async function burst(ns: string, count: number, gapMs: number): Promise<Record<string, number>> {
  const { stdout } = await run("ip", ["netns", "exec", ns, process.execPath, "-e", CLIENT, String(count), String(gapMs)], { timeout: 120_000 });
  return JSON.parse(stdout) as Record<string, number>;
}

/** TcpExt counters of a namespace, by name. */
export async function netstat(ns: string): Promise<Map<string, bigint>> {
  const text = await nsExec(ns, ["cat", "/proc/net/netstat"]);
  const lines = text.split("\n");
  const out = new Map<string, bigint>();
  for (let i = 0; i + 1 < lines.length; i += 2) {
    const head = (lines[i] ?? "").trim().split(/\s+/);
    const vals = (lines[i + 1] ?? "").trim().split(/\s+/);
    if (head[0] !== "TcpExt:") continue;
    head.forEach((h, j) => {
      if (j > 0 && vals[j] !== undefined) out.set(h, BigInt(vals[j]));
    });
  }
  return out;
}

export async function timeWaitCount(ns: string): Promise<number> {
  const text = await nsExec(ns, ["cat", "/proc/net/sockstat"]);
  const m = /TCP:.*\btw (\d+)/.exec(text);
  return Number(m?.[1] ?? "0");
}

/**
 * A listener that does not accept for `stallMs` (its event loop blocked right after listen()), so
 * connections wait in the kernel's accept queue, whose length is min(backlog, net.core.somaxconn)
 * as it was when listen() ran. Once that queue is full the kernel drops further SYNs and counts
 * ListenOverflows and ListenDrops: the accept-queue regression a lowered somaxconn causes.
 */
const STALLED_SERVER = `
const net = require("node:net");
const [port, stallMs] = process.argv.slice(1).map(Number);
const server = net.createServer((s) => { s.on("error", () => {}); s.destroy(); });
server.listen({ port, host: "127.0.0.1", backlog: 511 }, () => {
  process.stdout.write("listening\\n");
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, stallMs);
  setTimeout(() => server.close(() => process.exit(0)), 200);
});
`;

/** `count` concurrent connects to 127.0.0.1:port, each given up after timeoutMs; outcome -> count. */
const CONNECT_BURST = `
const net = require("node:net");
const [port, count, timeoutMs] = process.argv.slice(1).map(Number);
const outcomes = {};
Promise.all(Array.from({ length: count }, () => new Promise((resolve) => {
  const s = net.connect({ host: "127.0.0.1", port });
  const t = setTimeout(() => { s.destroy(); resolve("timeout"); }, timeoutMs);
  s.on("connect", () => { clearTimeout(t); s.destroy(); resolve("ok"); });
  s.on("error", (e) => { clearTimeout(t); resolve(e.code || String(e)); });
}).then((r) => { outcomes[r] = (outcomes[r] || 0) + 1; }))).then(() => process.stdout.write(JSON.stringify(outcomes) + "\\n"));
`;

/**
 * Starts the stalled listener in `ns` and, while it stalls, a bounded burst of concurrent local
 * connects; resolves with the burst's outcomes once both are over.
 */
export async function acceptQueueBurst(
  ns: string,
  opts: { port: number; connections: number; stallMs: number; connectTimeoutMs: number },
): Promise<Record<string, number>> {
  const server = spawn("ip", ["netns", "exec", ns, process.execPath, "-e", STALLED_SERVER, String(opts.port), String(opts.stallMs)], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const serverExit = new Promise<void>((resolve) => server.once("exit", () => resolve()));
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("exit", (code) => reject(new Error(`stalled server exited early (${code})`)));
      server.stdout?.setEncoding("utf8");
      server.stdout?.on("data", (d: string) => {
        if (d.includes("listening")) resolve();
      });
    });
    const { stdout } = await run(
      "ip",
      ["netns", "exec", ns, process.execPath, "-e", CONNECT_BURST, String(opts.port), String(opts.connections), String(opts.connectTimeoutMs)],
      { timeout: 60_000 },
    );
    return JSON.parse(stdout) as Record<string, number>;
  } finally {
    await Promise.race([serverExit, new Promise((r) => setTimeout(r, opts.stallMs + 10_000))]);
    if (server.exitCode === null) server.kill("SIGKILL");
  }
}
