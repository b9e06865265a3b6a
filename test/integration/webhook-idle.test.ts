import { ApiException, CustomObjectsApi, type KubeConfig } from "@kubernetes/client-node";
import { connect, type TLSSocket } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { kubeConfig, uniqueName } from "../support/cluster.js";
import { installCrds } from "../support/crds.js";
import { POLICY_REF, alwaysDenied, percentile, startTestWebhook, type TestWebhook } from "./webhook-harness.js";

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

const allowed = (name: string) => ({
  apiVersion: "tcptuning.io/v1alpha1",
  kind: "TcpTuningPolicy",
  metadata: { name },
  spec: { sysctls: [{ name: "net.ipv4.tcp_keepalive_time", value: "300" }] },
});

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
    let stop = false;
    const failures: string[] = [];
    const latencies: number[] = [];
    const worker = async (w: number): Promise<void> => {
      for (let i = 0; !stop; i++) {
        const deny = i % 2 === 0;
        const name = uniqueName(`idle-${w}`);
        const t = performance.now();
        try {
          await objects.createClusterCustomObject({ ...POLICY_REF, body: deny ? alwaysDenied(name) : allowed(name), dryRun: "All" });
          if (deny) failures.push(`${name}: admitted although the webhook refuses it`);
        } catch (err) {
          const refused = err instanceof ApiException && err.code === 403 && String(err.body).includes("is refused");
          if (!deny || !refused) failures.push(`${name}: ${err instanceof ApiException ? `${err.code} ${String(err.body).slice(0, 300)}` : String(err)}`);
        }
        latencies.push(performance.now() - t);
        // Bursts and pauses, so the apiserver's pool dials ahead and leaves connections idle.
        if (i % 20 === 19) await new Promise((r) => setTimeout(r, 500 + ((w * 137) % 1500)));
      }
    };
    const server = webhook.hook.server;
    const idle = await Promise.all(Array.from({ length: 4 }, () => unusedConnection(webhook.settings.port)));
    const started = performance.now();
    const workers = Array.from({ length: 8 }, (_, w) => worker(w));
    // Node checks its timeouts every 30 s; run at least 45 s, and until the timeout has fired on an unused connection (at most 150 s).
    while (performance.now() - started < 45_000 || (server.timeouts.keptSilent === 0 && performance.now() - started < 150_000)) {
      await new Promise((r) => setTimeout(r, 500));
    }
    stop = true;
    await Promise.all(workers);
    const idleBytes = idle.map((c) => c.received());
    for (const c of idle) c.socket.destroy();
    const seconds = (performance.now() - started) / 1000;
    process.stderr.write(
      `idle-connection run: ${latencies.length} admissions in ${seconds.toFixed(1)} s, ${failures.length} failures, p99 ${percentile(latencies, 99).toFixed(0)} ms; headers timeouts: ${server.timeouts.keptSilent} unused connections kept silent, ${server.timeouts.answered408} answered 408\n`,
    );
    expect(failures).toEqual([]);
    expect(idleBytes).toEqual([0, 0, 0, 0]);
    expect(server.timeouts.answered408).toBe(0);
    expect(server.timeouts.keptSilent).toBeGreaterThan(0);
  }, 240_000);
});
