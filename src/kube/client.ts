/**
 * Kubeconfig loading and API clients. Every API client in src is made by `makeApiClient`, which gives
 * each request a timeout (timeout.ts), honours 429 + Retry-After for idempotent requests
 * (retry-after.ts) and sends our User-Agent; never `kubeConfig.makeApiClient` directly.
 */
import { createConfiguration, KubeConfig, ServerConfiguration, type Configuration } from "@kubernetes/client-node";
import { retryAfterHttpLibrary, type RetryAfterOptions } from "./retry-after.js";
import { DEFAULT_API_TIMEOUT_MS, timeoutMiddleware } from "./timeout.js";

/** The field manager name for server-side apply and managedFields: one per component. */
export const FIELD_MANAGERS = {
  controller: "tcp-tuning-controller",
  agent: "tcp-tuning-agent",
  webhook: "tcp-tuning-webhook",
} as const;

export type FieldManager = (typeof FIELD_MANAGERS)[keyof typeof FIELD_MANAGERS];

/**
 * Loads a kubeconfig: an explicit path, else $KUBECONFIG / ~/.kube/config, else the in-cluster
 * service account (what client-node's loadFromDefault does in that order).
 */
export function loadKubeConfig(path?: string): KubeConfig {
  const kc = new KubeConfig();
  if (path) kc.loadFromFile(path);
  else kc.loadFromDefault();
  return kc;
}

export interface ApiClientOptions {
  /** Limit for each request, connect to last byte; default DEFAULT_API_TIMEOUT_MS. */
  readonly timeoutMs?: number;
  /** Aborts every in-flight request of this client when it fires (e.g. process shutdown). */
  readonly signal?: AbortSignal;
  /** User-Agent, default "tcp-tuning-operator". */
  readonly userAgent?: string;
  /** How 429 + Retry-After is honoured (retries, longest wait); RETRY_AFTER_DEFAULTS when absent. */
  readonly retryAfter?: RetryAfterOptions;
}

/**
 * `kc.makeApiClient(Api)` with a timeout on every request: a dead API server makes a call fail with
 * an ApiTimeoutError ("GET /api/v1/nodes timed out after 30000 ms") instead of hanging. A 429 with
 * Retry-After is waited out and the request sent again when it is idempotent (GET, apply), within
 * that same timeout.
 */
export function makeApiClient<A>(kc: KubeConfig, api: new (config: Configuration) => A, options: ApiClientOptions = {}): A {
  return new api(apiConfiguration(kc, options));
}

/**
 * The request pipeline behind makeApiClient (server, auth, User-Agent, timeout, Retry-After), for a
 * request that no generated API class makes (raw-list.ts reads a LIST as plain JSON through it).
 */
export function apiConfiguration(kc: KubeConfig, options: ApiClientOptions = {}): Configuration {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error("the kubeconfig has no current cluster");
  return createConfiguration({
    baseServer: new ServerConfiguration(cluster.server, {}),
    authMethods: { default: kc },
    httpApi: retryAfterHttpLibrary(options.retryAfter),
    promiseMiddleware: [
      {
        pre: (ctx) => {
          ctx.setHeaderParam("User-Agent", options.userAgent ?? "tcp-tuning-operator");
          return Promise.resolve(ctx);
        },
        post: (res) => Promise.resolve(res),
      },
      timeoutMiddleware(options.timeoutMs ?? DEFAULT_API_TIMEOUT_MS, options.signal),
    ],
  });
}
