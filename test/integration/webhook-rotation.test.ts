import { X509Certificate } from "node:crypto";
import { connect } from "node:tls";
import { ApiException, CustomObjectsApi, type KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { kubeConfig, uniqueName } from "../support/cluster.js";
import { installCrds } from "../support/crds.js";
import { caBundleOf } from "../../src/webhook/config.js";
import { createCa, fingerprint, issueServingCert, issuedBy, type TlsManager } from "../../src/certs/index.js";
import { AdmissionLoad, POLICY_REF, alwaysAllowed, percentile, startTestWebhook, type TestWebhook } from "./webhook-harness.js";

let kc: KubeConfig;
let objects: CustomObjectsApi;
let webhook: TestWebhook;

/** The certificate the webhook serves to a new TLS connection right now. */
function servedCertificate(port: number): Promise<X509Certificate> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port, rejectUnauthorized: false }, () => {
      const raw = socket.getPeerX509Certificate();
      socket.end();
      if (raw) resolve(raw);
      else reject(new Error("no peer certificate"));
    });
    socket.on("error", reject);
  });
}

beforeAll(async () => {
  kc = kubeConfig();
  objects = kc.makeApiClient(CustomObjectsApi);
  await installCrds(kc);
  webhook = await startTestWebhook(kc, (s) => ({
    ...s,
    rotation: {
      caLife: { validityMs: 3600_000, backdateMs: 60_000 },
      // A 15 s serving certificate renews itself (at 10 s) during the test, on top of the forced CA rotation.
      servingLife: { validityMs: 15_000, backdateMs: 0 },
      renewFraction: 2 / 3,
      propagationMs: 3_000,
      retireAfterMs: 3_000,
    },
    resyncMs: 250,
  }));
});

afterAll(async () => {
  await webhook?.close();
});

/** The self-managed mode's certificate manager (this test runs the default mode). */
function tlsManager(): TlsManager {
  const tls = webhook.hook.tls;
  if (!tls) throw new Error("the webhook runs without a TlsManager: not in self-managed mode");
  return tls;
}

describe("certificate rotation under load", () => {
  it("rotates the CA and renews the serving certificate while no admission request fails", async () => {
    const firstCa = tlsManager().state?.ca.certPem ?? "";
    expect(firstCa).not.toBe("");
    const served0 = await servedCertificate(webhook.hook.port);
    const seenBefore = webhook.hook.server.latency.count;

    const load = new AdmissionLoad(objects, "rot", 4);
    const started = load.started;

    await new Promise((r) => setTimeout(r, 1500));
    await tlsManager().rotateCaNow();
    const deadline = performance.now() + 40_000;
    const steps = () => tlsManager().history.map((h) => h.step);
    while (!(steps().includes("ca-retired") && steps().includes("serving-renewed") && performance.now() - started > 16_000)) {
      if (performance.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    // Keep going a little after the old CA left the bundle: the apiserver now trusts the new CA only.
    await new Promise((r) => setTimeout(r, 2000));
    const seconds = await load.stop();
    const { failures, latencies, requests } = load;

    const history = tlsManager().history.map((h) => `${h.step}@${h.at.toISOString().slice(17, 23)}`);
    const report = {
      requests,
      failures: failures.length,
      seconds: Math.round(seconds * 10) / 10,
      perSecond: Math.round(requests / seconds),
      viaApiserverMs: { p50: Math.round(percentile(latencies, 50) * 10) / 10, p99: Math.round(percentile(latencies, 99) * 10) / 10 },
      webhookServerMs: webhook.hook.server.latency.summary(),
      history,
    };
    process.stderr.write(`webhook rotation: ${JSON.stringify(report)}\n`);

    expect(failures.slice(0, 5)).toEqual([]);
    expect(requests).toBeGreaterThan(100);
    // Every request went through the webhook (nothing bypassed it while the configuration changed).
    expect(webhook.hook.server.latency.count - seenBefore).toBeGreaterThanOrEqual(requests);
    const order = steps().filter((s) => s.startsWith("ca-"));
    expect(order.slice(0, 3)).toEqual(["ca-added", "ca-switched", "ca-retired"]);
    expect(steps()).toContain("serving-renewed");

    const config = await webhook.hook.config.read();
    const bundle = config ? caBundleOf(config) : [];
    const newCa = tlsManager().state?.ca.certPem ?? "";
    expect(bundle.map(fingerprint)).toEqual([fingerprint(newCa)]);
    expect(fingerprint(newCa)).not.toBe(fingerprint(firstCa));
    const served1 = await servedCertificate(webhook.hook.port);
    expect(served1.fingerprint256).not.toBe(served0.fingerprint256);
    expect(issuedBy(served1.toString(), newCa)).toBe(true);
    expect(issuedBy(served1.toString(), firstCa)).toBe(false);
  }, 90_000);

  it("fails admission when the webhook serves a certificate the apiserver does not trust (the check above can fail)", async () => {
    const life = { validityMs: 600_000, backdateMs: 60_000 };
    const stranger = await createCa(new Date(), life);
    const state = tlsManager().state;
    if (!state) throw new Error("no certificates");
    await tlsManager().stop();
    webhook.hook.server.setTls(await issueServingCert(stranger, { dnsNames: [], ipAddresses: ["127.0.0.1"] }, new Date(), life));
    // A caBundle change makes the apiserver build a new client, hence new TLS connections and a real handshake.
    await webhook.hook.config.setCaBundle([...state.bundle, (await createCa(new Date(), life)).certPem]);
    const attempt = () =>
      objects.createClusterCustomObject({ ...POLICY_REF, body: alwaysAllowed(uniqueName("stranger")), dryRun: "All" }).then(
        () => "admitted",
        (err: unknown) => (err instanceof ApiException ? `${err.code} ${String(err.body)}` : String(err)),
      );
    let outcome = await attempt();
    for (let i = 0; i < 100 && outcome === "admitted"; i++) {
      await new Promise((r) => setTimeout(r, 100));
      outcome = await attempt();
    }
    expect(outcome).toMatch(/failed calling webhook.*(x509|certificate)/);
    webhook.hook.server.setTls(state.serving);
    await webhook.hook.config.setCaBundle(state.bundle);
    let back = await attempt();
    for (let i = 0; i < 100 && back !== "admitted"; i++) {
      await new Promise((r) => setTimeout(r, 100));
      back = await attempt();
    }
    expect(back).toBe("admitted");
  });
});
