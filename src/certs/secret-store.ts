import { CoreV1Api, type KubeConfig, type V1Secret } from "@kubernetes/client-node";
import { z } from "zod";
import { isAlreadyExists, isConflict, isNotFound, wrapApiError } from "../kube/api-error.js";
import { makeApiClient } from "../kube/client.js";
import { splitPemBundle } from "./certificates.js";
import type { PkiState } from "./rotation.js";

export const PHASE_SINCE_ANNOTATION = "tcptuning.io/rotation-phase-since";

/** Secret keys: tls.crt/tls.key (kubernetes.io/tls), the signing CA, the caBundle, and the next CA during a rotation. */
export const KEYS = {
  cert: "tls.crt",
  key: "tls.key",
  caCert: "ca.crt",
  caKey: "ca.key",
  bundle: "ca-bundle.crt",
  nextCaCert: "next-ca.crt",
  nextCaKey: "next-ca.key",
} as const;

const secretDataSchema = z.looseObject({
  [KEYS.cert]: z.string().min(1),
  [KEYS.key]: z.string().min(1),
  [KEYS.caCert]: z.string().min(1),
  [KEYS.caKey]: z.string().min(1),
  [KEYS.bundle]: z.string().min(1),
  [KEYS.nextCaCert]: z.string().optional(),
  [KEYS.nextCaKey]: z.string().optional(),
});

const b64 = (s: string): string => Buffer.from(s, "utf8").toString("base64");
const unb64 = (s: string): string => Buffer.from(s, "base64").toString("utf8");

export function encodeState(state: PkiState): Record<string, string> {
  const data: Record<string, string> = {
    [KEYS.cert]: b64(state.serving.certPem),
    [KEYS.key]: b64(state.serving.keyPem),
    [KEYS.caCert]: b64(state.ca.certPem),
    [KEYS.caKey]: b64(state.ca.keyPem),
    [KEYS.bundle]: b64(state.bundle.join("")),
  };
  if (state.nextCa) {
    data[KEYS.nextCaCert] = b64(state.nextCa.certPem);
    data[KEYS.nextCaKey] = b64(state.nextCa.keyPem);
  }
  return data;
}

/** The state a Secret holds, or undefined when it holds none that is complete. */
export function decodeState(secret: V1Secret): PkiState | undefined {
  const parsed = secretDataSchema.safeParse(secret.data ?? {});
  if (!parsed.success) return undefined;
  const d = parsed.data;
  const since = secret.metadata?.annotations?.[PHASE_SINCE_ANNOTATION];
  const nextCert = d[KEYS.nextCaCert];
  const nextKey = d[KEYS.nextCaKey];
  return {
    serving: { certPem: unb64(d[KEYS.cert]), keyPem: unb64(d[KEYS.key]) },
    ca: { certPem: unb64(d[KEYS.caCert]), keyPem: unb64(d[KEYS.caKey]) },
    bundle: splitPemBundle(unb64(d[KEYS.bundle])),
    nextCa: nextCert && nextKey ? { certPem: unb64(nextCert), keyPem: unb64(nextKey) } : undefined,
    phaseSince: since && !Number.isNaN(Date.parse(since)) ? new Date(since) : undefined,
  };
}

export interface StoredState {
  readonly state: PkiState | undefined;
  /** The Secret's resourceVersion: the precondition of the next write. Undefined when it does not exist. */
  readonly resourceVersion: string | undefined;
}

export class ConflictError extends Error {}

/** The Secret's namespace does not exist: a setup mistake the person running the webhook fixes, said in one line. */
export class NamespaceMissingError extends Error {
  constructor(
    readonly namespace: string,
    readonly secret: string,
  ) {
    super(
      `namespace "${namespace}" does not exist: the webhook keeps its certificates in Secret ${namespace}/${secret}; create it (kubectl create namespace ${namespace}) or choose another with --namespace`,
    );
  }
}

/**
 * The webhook's CA and serving certificate in one Secret, shared by every replica.
 * Writes are optimistic: an update carries the resourceVersion that was read, so two replicas that
 * rotate at once cannot both win; the loser gets ConflictError, re-reads and re-plans.
 */
export class SecretStore {
  private readonly core: CoreV1Api;

  constructor(
    kubeConfig: KubeConfig,
    readonly namespace: string,
    readonly name: string,
  ) {
    this.core = makeApiClient(kubeConfig, CoreV1Api);
  }

  async read(): Promise<StoredState> {
    try {
      const secret = await this.core.readNamespacedSecret({ name: this.name, namespace: this.namespace });
      return { state: decodeState(secret), resourceVersion: secret.metadata?.resourceVersion };
    } catch (err) {
      if (isNotFound(err)) return { state: undefined, resourceVersion: undefined };
      throw wrapApiError(`reading Secret ${this.namespace}/${this.name}`, err);
    }
  }

  /** Creates the Secret (resourceVersion undefined) or replaces it if still at resourceVersion; returns the new resourceVersion. */
  async write(state: PkiState, resourceVersion: string | undefined): Promise<string | undefined> {
    const annotations: Record<string, string> = {};
    if (state.phaseSince) annotations[PHASE_SINCE_ANNOTATION] = state.phaseSince.toISOString();
    const body: V1Secret = {
      apiVersion: "v1",
      kind: "Secret",
      type: "kubernetes.io/tls",
      metadata: {
        name: this.name,
        namespace: this.namespace,
        labels: { "app.kubernetes.io/name": "tcp-tuning", "app.kubernetes.io/component": "webhook" },
        annotations,
        ...(resourceVersion ? { resourceVersion } : {}),
      },
      data: encodeState(state),
    };
    try {
      const saved = resourceVersion
        ? await this.core.replaceNamespacedSecret({ name: this.name, namespace: this.namespace, body })
        : await this.core.createNamespacedSecret({ namespace: this.namespace, body });
      return saved.metadata?.resourceVersion;
    } catch (err) {
      if (!resourceVersion && isNotFound(err)) throw new NamespaceMissingError(this.namespace, this.name);
      if (isConflict(err) || isAlreadyExists(err)) throw new ConflictError(`Secret ${this.namespace}/${this.name} changed since it was read`, { cause: err });
      throw wrapApiError(`writing Secret ${this.namespace}/${this.name}`, err);
    }
  }
}
