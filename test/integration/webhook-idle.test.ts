import { CustomObjectsApi, type KubeConfig } from "@kubernetes/client-node";
import { connect, type TLSSocket } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { kubeConfig } from "../support/cluster.js";
import { installCrds } from "../support/crds.js";
import { AdmissionLoad, percentile, startTestWebhook, type TestWebhook } from "./webhook-harness.js";

/**
 * Under load through the real apiserver, the webhook used to answer connections that had never
 * carried a request with an unsolicited `400 Bad Request` + close when Node's headers timeout fired
 * (4 to 93 times per 45 s run, issue 14). This runs dry-run creates from 8 workers until that timeout
 * has fired on such connections (the server counts them) and checks that no admission failed.
 * Whether the apiserver's pool leaves a connection unused is up to its dialer, so the test also holds
 * a few TLS connections of its own that never send a byte: the timeout is certain to meet them, and
 * they must receive nothing (the old handler wrote its 400 to exactly these).
 */

/** A TLS connection that never sends a byte; records what the server writes and whether it closed. */
async function unusedConnection(port: number): Promise<{ socket: TLSSocket; received: () => number }> {
  let received = 0;
  const socket = await new Promise<TLSSocket>((resolve, reject) => {
    const s = connect({ host: "127.0.0.1", port, rejectUnauthorized: false }, () => resolve(s));
    s.once("error", reject);
  });
  socket.on("data", (chunk: Buffer) => (received += chunk.length));
  socket.on("error", () => undefined);
  return { socket, received: () => received };
}

let kc: KubeConfig;
let objects: CustomObjectsApi;
let webhook: TestWebhook;

beforeAll(async () => {
  kc = kubeConfig();
  objects = kc.makeApiClient(CustomObjectsApi);
  await installCrds(kc);
  webhook = await startTestWebhook(kc);
});

afterAll(async () => {
  await webhook?.close();
});

describe("the webhook under load through the real apiserver", () => {
  it("answers no connection that never carried a request, and fails no admission, while Node's headers timeout fires", async () => {
    const server = webhook.hook.server;
    const idle = await Promise.all(Array.from({ length: 4 }, () => unusedConnection(webhook.settings.port)));
    // Bursts and pauses, so the apiserver's pool dials ahead and leaves connections idle.
    const load = new AdmissionLoad(objects, "idle", 8, (w, i) => (i % 20 === 19 ? 500 + ((w * 137) % 1500) : 0));
    const started = load.started;
    // Node checks its timeouts every 30 s; run at least 45 s, and until the timeout has fired on an unused connection (at most 150 s).
    while (performance.now() - started < 45_000 || (server.timeouts.keptSilent === 0 && performance.now() - started < 150_000)) {
      await new Promise((r) => setTimeout(r, 500));
    }
    const seconds = await load.stop();
    const { failures, latencies } = load;
    const idleBytes = idle.map((c) => c.received());
    for (const c of idle) c.socket.destroy();
    process.stderr.write(
      `idle-connection run: ${latencies.length} admissions in ${seconds.toFixed(1)} s, ${failures.length} failures, p99 ${percentile(latencies, 99).toFixed(0)} ms; headers timeouts: ${server.timeouts.keptSilent} unused connections kept silent, ${server.timeouts.answered408} answered 408\n`,
    );
    expect(failures).toEqual([]);
    expect(idleBytes).toEqual([0, 0, 0, 0]);
    expect(server.timeouts.answered408).toBe(0);
    expect(server.timeouts.keptSilent).toBeGreaterThan(0);
  }, 240_000);
});
