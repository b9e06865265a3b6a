import { AdmissionregistrationV1Api, type KubeConfig, type V1ValidatingWebhookConfiguration } from "@kubernetes/client-node";
import { API_GROUP, API_VERSION, POLICY_PLURAL } from "../api/v1alpha1/group.js";
import { isNotFound, wrapApiError } from "../kube/api-error.js";
import { jsonPatch, jsonPointer, mergePatch, type JsonPatchOperation } from "../kube/patch.js";
import { FIELD_MANAGERS, makeApiClient } from "../kube/client.js";
import { fingerprintIfValid, splitPemBundle } from "../certs/index.js";
import { VALIDATE_PATH } from "./server.js";

export const WEBHOOK_CONFIGURATION_NAME = "tcp-tuning-webhook";
/** webhooks[].name must be a fully qualified name. */
export const WEBHOOK_NAME = "validate.tcptuning.io";
export const TIMEOUT_SECONDS = 5;

/** Where the apiserver reaches the webhook: a Service in the cluster, or a URL (tests, out-of-cluster runs). */
export type WebhookEndpoint = { readonly service: { readonly namespace: string; readonly name: string; readonly port: number } } | { readonly url: string };

export interface WebhookConfigOptions {
  readonly name?: string;
  readonly endpoint: WebhookEndpoint;
  /** PEM of every CA the apiserver should trust for this webhook. */
  readonly caBundle: readonly string[];
}

function clientConfig(endpoint: WebhookEndpoint, caBundle: readonly string[]): Record<string, unknown> {
  const ca = Buffer.from(caBundle.join(""), "utf8").toString("base64");
  if ("url" in endpoint) return { url: endpoint.url, caBundle: ca };
  return { service: { ...endpoint.service, path: VALIDATE_PATH }, caBundle: ca };
}

/**
 * The ValidatingWebhookConfiguration: only our own CRD, only CREATE and UPDATE.
 * failurePolicy Fail is safe here because nothing else in the cluster is matched: if the webhook is
 * down, only TcpTuningPolicy writes wait, which is what "an unsafe policy never gets in" means.
 */
export function webhookConfiguration(options: WebhookConfigOptions): V1ValidatingWebhookConfiguration {
  return {
    apiVersion: "admissionregistration.k8s.io/v1",
    kind: "ValidatingWebhookConfiguration",
    metadata: {
      name: options.name ?? WEBHOOK_CONFIGURATION_NAME,
      labels: { "app.kubernetes.io/name": "tcp-tuning", "app.kubernetes.io/component": "webhook" },
    },
    webhooks: [
      {
        name: WEBHOOK_NAME,
        admissionReviewVersions: ["v1"],
        sideEffects: "None",
        failurePolicy: "Fail",
        matchPolicy: "Equivalent",
        timeoutSeconds: TIMEOUT_SECONDS,
        clientConfig: clientConfig(options.endpoint, options.caBundle),
        rules: [{ apiGroups: [API_GROUP], apiVersions: [API_VERSION], resources: [POLICY_PLURAL], operations: ["CREATE", "UPDATE"], scope: "Cluster" }],
      },
    ],
  };
}

/** The CA certificates in a configuration's caBundle, as PEM. */
export function caBundleOf(config: V1ValidatingWebhookConfiguration): string[] {
  const b64 = config.webhooks?.[0]?.clientConfig.caBundle;
  return b64 ? splitPemBundle(Buffer.from(b64, "base64").toString("utf8")) : [];
}

export class WebhookConfigClient {
  private readonly api: AdmissionregistrationV1Api;

  constructor(
    kubeConfig: KubeConfig,
    readonly name: string = WEBHOOK_CONFIGURATION_NAME,
  ) {
    this.api = makeApiClient(kubeConfig, AdmissionregistrationV1Api);
  }

  async read(): Promise<V1ValidatingWebhookConfiguration | undefined> {
    try {
      return await this.api.readValidatingWebhookConfiguration({ name: this.name });
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw wrapApiError(`reading ValidatingWebhookConfiguration ${this.name}`, err);
    }
  }

  /**
   * Creates the configuration, or brings an existing one back to `desired` with a merge patch (webhooks
   * replaced whole). An existing caBundle only grows here: a replica starting while another is in the
   * middle of a CA rotation must not take the new CA out of the bundle; TlsManager, which writes the
   * bundle from then on, drops what is no longer needed.
   */
  async ensure(desired: V1ValidatingWebhookConfiguration): Promise<V1ValidatingWebhookConfiguration> {
    const current = await this.read();
    try {
      if (!current) return await this.api.createValidatingWebhookConfiguration({ body: desired, fieldManager: FIELD_MANAGERS.webhook });
      const live = caBundleOf(current);
      const webhooks = desired.webhooks?.map((w) => {
        if (w.name !== WEBHOOK_NAME) return w;
        const ours = w.clientConfig.caBundle ? splitPemBundle(Buffer.from(w.clientConfig.caBundle, "base64").toString("utf8")) : [];
        const known = new Set(ours.map(fingerprintIfValid));
        const kept = live.filter((pem) => {
          const fp = fingerprintIfValid(pem);
          return fp !== undefined && !known.has(fp);
        });
        return kept.length === 0
          ? w
          : { ...w, clientConfig: { ...w.clientConfig, caBundle: Buffer.from([...ours, ...kept].join(""), "utf8").toString("base64") } };
      });
      return await this.api.patchValidatingWebhookConfiguration(
        { name: this.name, body: { metadata: { labels: desired.metadata?.labels ?? {} }, webhooks }, fieldManager: FIELD_MANAGERS.webhook },
        mergePatch(),
      );
    } catch (err) {
      throw wrapApiError(`writing ValidatingWebhookConfiguration ${this.name}`, err);
    }
  }

  /**
   * Sets the caBundle of our webhook only, with a JSON patch guarded by a test on the webhook's name,
   * so a concurrent edit of the list cannot make us write another webhook's bundle.
   */
  async setCaBundle(caBundle: readonly string[]): Promise<void> {
    const ops: JsonPatchOperation[] = [
      { op: "test", path: jsonPointer("webhooks", 0, "name"), value: WEBHOOK_NAME },
      { op: "add", path: jsonPointer("webhooks", 0, "clientConfig", "caBundle"), value: Buffer.from(caBundle.join(""), "utf8").toString("base64") },
    ];
    try {
      await this.api.patchValidatingWebhookConfiguration({ name: this.name, body: ops, fieldManager: FIELD_MANAGERS.webhook }, jsonPatch());
    } catch (err) {
      throw wrapApiError(`setting the caBundle of ValidatingWebhookConfiguration ${this.name}`, err);
    }
  }

  async delete(): Promise<void> {
    try {
      await this.api.deleteValidatingWebhookConfiguration({ name: this.name });
    } catch (err) {
      if (!isNotFound(err)) throw wrapApiError(`deleting ValidatingWebhookConfiguration ${this.name}`, err);
    }
  }
}
