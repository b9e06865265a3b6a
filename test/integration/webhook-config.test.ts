import type { KubeConfig, V1ValidatingWebhookConfiguration } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCa, fingerprint } from "../../src/certs/index.js";
import { WebhookConfigClient, caBundleOf, webhookConfiguration } from "../../src/webhook/config.js";
import { kubeConfig, uniqueName } from "../support/cluster.js";

const life = { validityMs: 3600_000, backdateMs: 60_000 };
const name = uniqueName("tcp-tuning-webhook-cfg");
let kc: KubeConfig;
let client: WebhookConfigClient;

/** Our configuration, matching a resource nobody writes, so a failurePolicy Fail webhook that is not running blocks nothing. */
function config(caBundle: readonly string[]): V1ValidatingWebhookConfiguration {
  const c = webhookConfiguration({ name, endpoint: { url: "https://127.0.0.1:9/validate" }, caBundle });
  const [hook] = c.webhooks ?? [];
  if (!hook) throw new Error("no webhook");
  return {
    ...c,
    webhooks: [
      { ...hook, rules: [{ apiGroups: ["example.invalid"], apiVersions: ["v1"], resources: ["nothings"], operations: ["CREATE"], scope: "Cluster" }] },
    ],
  };
}

beforeAll(() => {
  kc = kubeConfig();
  client = new WebhookConfigClient(kc, name);
});

afterAll(async () => {
  await client?.delete();
});

describe("WebhookConfigClient.ensure on an existing configuration", () => {
  it("keeps a CA another replica added to the caBundle (a rotation in progress), and sets everything else", async () => {
    const old = await createCa(new Date(), life);
    const next = await createCa(new Date(Date.now() + 1000), life);
    await client.ensure(config([old.certPem]));
    // Replica A starts a CA rotation: the bundle now holds both CAs.
    await client.setCaBundle([old.certPem, next.certPem]);
    // Replica B starts from the Secret it read before that, and brings the configuration to its desired shape.
    const live = await client.ensure({ ...config([old.certPem]), metadata: { name, labels: { "app.kubernetes.io/name": "tcp-tuning", extra: "yes" } } });
    expect(caBundleOf(live).map(fingerprint).sort()).toEqual([old.certPem, next.certPem].map(fingerprint).sort());
    expect(live.metadata?.labels?.["extra"]).toBe("yes");
    expect(live.webhooks?.[0]?.failurePolicy).toBe("Fail");
  });
});
