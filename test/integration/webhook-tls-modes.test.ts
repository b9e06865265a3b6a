import { X509Certificate } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "node:tls";
import {
  AdmissionregistrationV1Api,
  ApiException,
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  type V1ValidatingWebhookConfiguration,
} from "@kubernetes/client-node";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { createCa, issueServingCert, type KeyPair } from "../../src/certs/index.js";
import { createLogger } from "../../src/log.js";
import { webhookConfiguration } from "../../src/webhook/config.js";
import { parseWebhookArgs, startWebhook, type RunningWebhook } from "../../src/webhook/main.js";
import { atomicWrite } from "../support/atomic-writer.js";
import { kubeConfig, uniqueName } from "../support/cluster.js";
import { installCrds } from "../support/crds.js";
import { eventually } from "../support/eventually.js";
import { freePort } from "../support/ports.js";
import { POLICY_REF, alwaysDenied, waitUntilEnforced } from "./webhook-harness.js";
import { localWebhookArgs } from "../support/webhook-args.js";

const life = { validityMs: 24 * 3600_000, backdateMs: 60_000 };
const logger = createLogger("webhook-tls-modes-test", { level: process.env["WEBHOOK_TEST_LOG_LEVEL"] ?? "warn", pretty: false });

let kc: KubeConfig;
let admission: AdmissionregistrationV1Api;
const cleanups: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  kc = kubeConfig();
  admission = kc.makeApiClient(AdmissionregistrationV1Api);
  await installCrds(kc);
});

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

/** The serial number of the certificate a new TLS connection to the webhook is served. */
function servedSerial(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port, rejectUnauthorized: false }, () => {
      const cert = socket.getPeerX509Certificate();
      socket.end();
      if (cert) resolve(cert.serialNumber);
      else reject(new Error("no peer certificate"));
    });
    socket.on("error", reject);
  });
}

const serial = (pair: KeyPair): string => new X509Certificate(pair.certPem).serialNumber;
const tlsFiles = (ca: KeyPair, serving: KeyPair): Record<string, string> => ({ "tls.crt": serving.certPem, "tls.key": serving.keyPem, "ca.crt": ca.certPem });

/** What the chart would create: the configuration, by URL, with the caBundle its owner (cert-manager's injector, or a person) put there. */
async function chartOwnedConfiguration(name: string, port: number, caBundle: readonly string[]): Promise<V1ValidatingWebhookConfiguration> {
  const created = await admission.createValidatingWebhookConfiguration({
    body: webhookConfiguration({ name, endpoint: { url: `https://127.0.0.1:${port}/validate` }, caBundle }),
    fieldManager: "helm",
  });
  cleanups.push(() => admission.deleteValidatingWebhookConfiguration({ name }));
  return created;
}

async function namespace(): Promise<string> {
  const name = uniqueName("tt-tls-mode");
  const core = kc.makeApiClient(CoreV1Api);
  await core.createNamespace({ body: { metadata: { name } } });
  cleanups.push(() => core.deleteNamespace({ name }));
  return name;
}

async function start(argv: string[]): Promise<RunningWebhook> {
  const parsed = parseWebhookArgs(argv, {});
  if (parsed === "help") throw new Error("unexpected help");
  const hook = await startWebhook({ ...parsed, syncTimeoutMs: 60_000 }, { kubeConfig: kc, logger });
  cleanups.push(() => hook.close());
  return hook;
}

/** start() on 127.0.0.1:port for the configuration configName in namespace ns, with the mode's own flags first. */
function startOn(port: number, ns: string, configName: string, modeFlags: readonly string[]): Promise<RunningWebhook> {
  return start([...modeFlags, ...localWebhookArgs(port, ns, configName)]);
}

/** A temporary cert directory holding a new CA and a serving certificate it signed, as a Secret volume would. */
async function certDirWithNewCa(prefix: string): Promise<{ dir: string; ca: KeyPair; first: KeyPair }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const ca = await createCa(new Date(), life);
  const first = await servingCert(ca);
  await atomicWrite(dir, tlsFiles(ca, first));
  return { dir, ca, first };
}

const servingCert = (ca: KeyPair): Promise<KeyPair> => issueServingCert(ca, { dnsNames: [], ipAddresses: ["127.0.0.1"] }, new Date(), life);

/** What a write would have changed: resourceVersion, the whole caBundle bytes and who manages which fields. */
async function fingerprintOf(name: string): Promise<{ resourceVersion: string | undefined; caBundle: string | undefined; managers: string[] }> {
  const c = await admission.readValidatingWebhookConfiguration({ name });
  return {
    resourceVersion: c.metadata?.resourceVersion,
    caBundle: c.webhooks?.[0]?.clientConfig.caBundle,
    managers: (c.metadata?.managedFields ?? []).map((m) => `${m.manager ?? "?"}/${m.operation ?? "?"}`).sort(),
  };
}

describe("webhook TLS modes on the real control plane", () => {
  it("cert-manager mode serves the mounted files, follows an atomic rotation on disk without a restart, and leaves the caBundle byte for byte alone", async () => {
    const { dir, ca, first } = await certDirWithNewCa("tt-cm-");
    const other = await createCa(new Date(), life); // the injector's bundle may hold more than the signing CA
    const port = await freePort();
    const configName = uniqueName("tt-cm-webhook");
    await chartOwnedConfiguration(configName, port, [ca.certPem, other.certPem]);
    const before = await fingerprintOf(configName);
    const ns = await namespace();

    const hook = await startOn(port, ns, configName, ["--tls-mode", "cert-manager", "--cert-dir", dir]);
    expect(hook.tls).toBeUndefined();
    expect(await servedSerial(hook.port)).toBe(serial(first));
    await waitUntilEnforced(kc, 60_000);

    // cert-manager renews: the kubelet swaps ..data under the running webhook.
    const second = await servingCert(ca);
    await atomicWrite(dir, tlsFiles(ca, second));
    await eventually(
      "a new TLS connection to see the renewed certificate",
      async () => ((await servedSerial(hook.port)) === serial(second) ? true : undefined),
      60_000,
      200,
    );
    expect(hook.certDirectory?.reloads).toBe(1);
    // ... and the apiserver, trusting the same bundle, still reaches it through new handshakes.
    const objects = kc.makeApiClient(CustomObjectsApi);
    const refusal = await objects.createClusterCustomObject({ ...POLICY_REF, body: alwaysDenied(uniqueName("cm-denied")), dryRun: "All" }).then(
      () => "admitted",
      (err: unknown) => (err instanceof ApiException ? String(err.body) : String(err)),
    );
    expect(refusal).toMatch(/is refused/);

    // Neither start-up nor the reload wrote the configuration: same resourceVersion, same caBundle bytes, no manager added.
    expect(await fingerprintOf(configName)).toEqual(before);
    const secrets = await kc.makeApiClient(CoreV1Api).listNamespacedSecret({ namespace: ns });
    expect(secrets.items.map((s) => s.metadata?.name)).not.toContain("tcp-tuning-webhook-tls");
  }, 180_000);

  it("self-managed mode with --no-manage-config writes neither the configuration nor its caBundle, even through a CA rotation", async () => {
    const port = await freePort();
    const configName = uniqueName("tt-nomanage-webhook");
    // No caBundle yet: whoever owns it copies it from the Secret's ca-bundle.crt (a bootstrap would otherwise keep a trusted CA in the bundle for a while).
    await chartOwnedConfiguration(configName, port, []);
    const before = await fingerprintOf(configName);
    const ns = await namespace();

    const hook = await startOn(port, ns, configName, ["--no-manage-config"]);
    const tls = hook.tls;
    if (!tls) throw new Error("self-managed mode has a TlsManager");
    expect(tls.history.map((h) => h.step)).toEqual(["bootstrap"]);
    // A CA rotation would write the caBundle when the webhook owns it; here it may only wait for someone else to.
    await tls.rotateCaNow();
    await tls.reconcile();
    expect(tls.history.map((h) => h.step)).toEqual(["bootstrap", "ca-added"]);
    expect(await fingerprintOf(configName)).toEqual(before);
  }, 180_000);

  it("self-managed mode with --ca-bundle-only injects its CA into the chart's configuration and changes nothing else", async () => {
    const port = await freePort();
    const configName = uniqueName("tt-cabundle-webhook");
    const created = await chartOwnedConfiguration(configName, port, []);
    const ns = await namespace();

    const hook = await startOn(port, ns, configName, ["--ca-bundle-only"]);
    await waitUntilEnforced(kc, 60_000);
    const live = await admission.readValidatingWebhookConfiguration({ name: configName });
    const bundle = Buffer.from(live.webhooks?.[0]?.clientConfig.caBundle ?? "", "base64").toString("utf8");
    expect(bundle).toBe(hook.tls?.state?.bundle.join(""));
    // Everything but the caBundle is as the chart wrote it.
    const strip = (c: V1ValidatingWebhookConfiguration) => c.webhooks?.map((w) => ({ ...w, clientConfig: { ...w.clientConfig, caBundle: undefined } }));
    expect(strip(live)).toEqual(strip(created));
    expect(live.metadata?.labels).toEqual(created.metadata?.labels);
  }, 180_000);

  it("files mode with --no-manage-config serves the files and writes nothing to the configuration", async () => {
    const { dir, ca } = await certDirWithNewCa("tt-files-");
    const port = await freePort();
    const configName = uniqueName("tt-files-webhook");
    await chartOwnedConfiguration(configName, port, [ca.certPem]);
    const before = await fingerprintOf(configName);
    const ns = await namespace();

    const hook = await startOn(port, ns, configName, ["--tls-mode", "files", "--no-manage-config", "--cert-dir", dir]);
    await waitUntilEnforced(kc, 60_000);
    const next = await createCa(new Date(), life);
    const second = await servingCert(next);
    await atomicWrite(dir, tlsFiles(next, second));
    await eventually("the new files to be served", async () => ((await servedSerial(hook.port)) === serial(second) ? true : undefined), 60_000, 200);
    expect(await fingerprintOf(configName)).toEqual(before);
  }, 180_000);

  it("files mode managing the configuration takes its caBundle from ca.crt and follows a new CA on disk", async () => {
    const { dir, ca } = await certDirWithNewCa("tt-files-");
    const port = await freePort();
    const configName = uniqueName("tt-files-managed-webhook");
    cleanups.push(() => admission.deleteValidatingWebhookConfiguration({ name: configName }));
    const ns = await namespace();

    const hook = await startOn(port, ns, configName, ["--tls-mode", "files", "--cert-dir", dir]);
    const bundleText = async (): Promise<string> => Buffer.from((await fingerprintOf(configName)).caBundle ?? "", "base64").toString("utf8");
    expect(await bundleText()).toBe(ca.certPem);
    await waitUntilEnforced(kc, 60_000);

    const next = await createCa(new Date(), life);
    const second = await servingCert(next);
    await atomicWrite(dir, { ...tlsFiles(next, second), "ca.crt": next.certPem + ca.certPem });
    await eventually("the caBundle to follow ca.crt", async () => ((await bundleText()) === next.certPem + ca.certPem ? true : undefined), 60_000, 200);
    expect(await servedSerial(hook.port)).toBe(serial(second));
  }, 180_000);
});
