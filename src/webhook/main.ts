import { parseArgs } from "node:util";
import type { KubeConfig } from "@kubernetes/client-node";
import { loadKubeConfig } from "../kube/client.js";
import { createLogger, type Logger } from "../log.js";
import { componentRegistry, MetricsServer, WebhookMetrics } from "../metrics/index.js";
import { parseDefaultPlacement, type DefaultPlacement } from "../rules/index.js";
import { validityOf } from "./certs.js";
import { WebhookConfigClient, caBundleOf, webhookConfiguration, WEBHOOK_CONFIGURATION_NAME, type WebhookEndpoint } from "./config.js";
import { NodeCache } from "./node-cache.js";
import type { RotationPolicy } from "./rotation.js";
import { SecretStore } from "./secret-store.js";
import { WebhookServer } from "./server.js";
import { TlsManager } from "./tls-manager.js";

const DAY = 24 * 3600 * 1000;

export const WEBHOOK_USAGE = `Usage: tcp-tuning webhook [options]

Runs the TcpTuningPolicy validating admission webhook: judges every policy CREATE and UPDATE with the
rule engine against the cluster's nodes, manages its own CA and serving certificate in a Secret, and
keeps the ValidatingWebhookConfiguration's caBundle current (rotating before expiry).

Options (environment variable in brackets)
  --kubeconfig PATH           kubeconfig; default: in-cluster or $KUBECONFIG
  --port N                    HTTPS port (8443) [WEBHOOK_PORT]
  --host ADDR                 listen address (0.0.0.0) [WEBHOOK_HOST]
  --metrics-port N            plain-HTTP port for /metrics, /healthz and /readyz (8080; 0 picks a
                              free port) [METRICS_PORT]
  --metrics-host ADDR         its listen address (0.0.0.0) [METRICS_HOST]
  --namespace NS              namespace of the Secret and Service [POD_NAMESPACE] (tcp-tuning-system)
  --service NAME              Service the apiserver calls (tcp-tuning-webhook)
  --url URL                   call this URL instead of the Service (out-of-cluster runs)
  --secret NAME               Secret holding the CA and serving certificate (tcp-tuning-webhook-tls)
  --config-name NAME          ValidatingWebhookConfiguration name (${WEBHOOK_CONFIGURATION_NAME})
  --no-manage-config          do not create the configuration (a Helm chart or cert-manager owns it)
  --ip ADDR                   extra IP address for the serving certificate (repeatable)
  --dns NAME                  extra DNS name for the serving certificate (repeatable)
  --default-placement SPEC    placement of unlabelled nodes, e.g. nat=none,load-balancer=none
  --ca-validity-days N        (3650)      --cert-validity-days N (365)
  --shutdown-delay-seconds N  after SIGTERM, keep answering (readyz 503) this long so the Service
                              stops routing here before the port closes (5); a second signal cuts it
  --help
`;

/** Everything the webhook process needs, from flags and environment. */
export interface WebhookSettings {
  readonly kubeconfig: string | undefined;
  readonly port: number;
  readonly host: string;
  readonly metricsPort: number;
  readonly metricsHost: string;
  readonly namespace: string;
  readonly service: string;
  readonly url: string | undefined;
  readonly secret: string;
  readonly configName: string;
  readonly manageConfig: boolean;
  readonly dnsNames: readonly string[];
  readonly ipAddresses: readonly string[];
  readonly defaultPlacement: DefaultPlacement;
  readonly rotation: Omit<RotationPolicy, "names">;
  /** How often the Secret is re-read so every replica follows a rotation. */
  readonly resyncMs: number;
  readonly syncTimeoutMs: number;
  /** After SIGTERM: how long to keep answering, not ready, before closing the port. */
  readonly shutdownDelayMs: number;
}

function intArg(name: string, text: string, min: number): number {
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(n) || n < min) throw new Error(`--${name} must be an integer >= ${min}, got "${text}"`);
  return n;
}

export function parseWebhookArgs(argv: readonly string[], env: NodeJS.ProcessEnv): WebhookSettings | "help" {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: false,
    options: {
      kubeconfig: { type: "string" },
      port: { type: "string" },
      host: { type: "string" },
      "metrics-port": { type: "string" },
      "metrics-host": { type: "string" },
      namespace: { type: "string" },
      service: { type: "string" },
      url: { type: "string" },
      secret: { type: "string" },
      "config-name": { type: "string" },
      "no-manage-config": { type: "boolean" },
      ip: { type: "string", multiple: true },
      dns: { type: "string", multiple: true },
      "default-placement": { type: "string" },
      "ca-validity-days": { type: "string" },
      "cert-validity-days": { type: "string" },
      "shutdown-delay-seconds": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) return "help";
  const namespace = values.namespace ?? env["POD_NAMESPACE"] ?? "tcp-tuning-system";
  const service = values.service ?? "tcp-tuning-webhook";
  const caDays = intArg("ca-validity-days", values["ca-validity-days"] ?? "3650", 1);
  const certDays = intArg("cert-validity-days", values["cert-validity-days"] ?? "365", 1);
  const url = values.url;
  const serviceNames = url ? [] : [`${service}.${namespace}.svc`, `${service}.${namespace}.svc.cluster.local`];
  const urlHost = url ? new URL(url).hostname.replace(/^\[|\]$/g, "") : undefined;
  const isIp = (h: string): boolean => /^[\d.]+$/.test(h) || h.includes(":");
  return {
    kubeconfig: values.kubeconfig,
    port: intArg("port", values.port ?? env["WEBHOOK_PORT"] ?? "8443", 0),
    host: values.host ?? env["WEBHOOK_HOST"] ?? "0.0.0.0",
    metricsPort: intArg("metrics-port", values["metrics-port"] ?? env["METRICS_PORT"] ?? "8080", 0),
    metricsHost: values["metrics-host"] ?? env["METRICS_HOST"] ?? "0.0.0.0",
    namespace,
    service,
    url,
    secret: values.secret ?? `${service}-tls`,
    configName: values["config-name"] ?? WEBHOOK_CONFIGURATION_NAME,
    manageConfig: !values["no-manage-config"],
    dnsNames: [...serviceNames, ...(urlHost && !isIp(urlHost) ? [urlHost] : []), ...(values.dns ?? [])],
    ipAddresses: [...(urlHost && isIp(urlHost) ? [urlHost] : []), ...(values.ip ?? [])],
    defaultPlacement: values["default-placement"] ? parseDefaultPlacement(values["default-placement"]) : {},
    rotation: {
      caLife: { validityMs: caDays * DAY, backdateMs: 5 * 60 * 1000 },
      servingLife: { validityMs: Math.min(certDays, caDays) * DAY, backdateMs: 5 * 60 * 1000 },
      renewFraction: 2 / 3,
      propagationMs: 60_000,
      retireAfterMs: 10 * 60_000,
    },
    resyncMs: 60_000,
    syncTimeoutMs: 120_000,
    shutdownDelayMs: intArg("shutdown-delay-seconds", values["shutdown-delay-seconds"] ?? "5", 0) * 1000,
  };
}

/** A webhook running in this process: what tests and main() hold on to. */
export interface RunningWebhook {
  readonly port: number;
  /** The plain-HTTP port of /metrics, /healthz and /readyz. */
  readonly metricsPort: number;
  readonly metrics: WebhookMetrics;
  readonly server: WebhookServer;
  readonly cache: NodeCache;
  readonly tls: TlsManager;
  readonly config: WebhookConfigClient;
  close(): Promise<void>;
}

export interface StartDeps {
  readonly kubeConfig?: KubeConfig;
  readonly logger?: Logger;
}

/**
 * Starts the webhook: certificates first (from the Secret, made if missing), then the HTTPS server,
 * then the node cache (ready once synced), and only then the ValidatingWebhookConfiguration, so the
 * apiserver is never pointed at a webhook that cannot answer yet.
 */
export async function startWebhook(settings: WebhookSettings, deps: StartDeps = {}): Promise<RunningWebhook> {
  const logger = deps.logger ?? createLogger("webhook");
  const kc = deps.kubeConfig ?? loadKubeConfig(settings.kubeconfig);
  const config = new WebhookConfigClient(kc, settings.configName);
  const store = new SecretStore(kc, settings.namespace, settings.secret);
  let server: WebhookServer | undefined;
  let firstServing: { certPem: string; keyPem: string } | undefined;
  const tls = new TlsManager({
    store,
    bundle: {
      read: async () => {
        const c = await config.read();
        return c ? caBundleOf(c) : undefined;
      },
      write: (bundle) => config.setCaBundle(bundle),
    },
    policy: { ...settings.rotation, names: { dnsNames: settings.dnsNames, ipAddresses: settings.ipAddresses } },
    logger: logger.child({ part: "tls" }),
    onServing: (pair) => {
      if (server) server.setTls(pair);
      else firstServing = pair;
    },
    resyncMs: settings.resyncMs,
  });
  await tls.reconcile();
  if (!firstServing) throw new Error("no serving certificate after the first certificate reconciliation");
  const cache = new NodeCache({ kubeConfig: kc, logger: logger.child({ part: "cache" }), defaultPlacement: settings.defaultPlacement });
  const registry = componentRegistry("webhook");
  const metrics = new WebhookMetrics(registry, {
    cache: cache.index,
    certificates: () => (tls.state ? { serving: tls.state.serving.certPem, ca: (tls.state.nextCa ?? tls.state.ca).certPem } : undefined),
    expiryOf: (pem) => validityOf(pem).notAfter,
  });
  server = new WebhookServer({ tls: firstServing, snapshot: () => cache.snapshot(), ready: () => cache.synced, logger: logger.child({ part: "server" }), metrics });
  const running = server;
  const metricsServer = new MetricsServer({
    registry,
    ready: () => !running.isDraining && cache.synced,
    notReadyReason: () => (running.isDraining ? "shutting down" : "node cache not synced yet"),
    logger: logger.child({ part: "metrics" }),
  });
  const address = await server.listen(settings.port, settings.host);
  let metricsAddress;
  try {
    metricsAddress = await metricsServer.listen(settings.metricsPort, settings.metricsHost);
  } catch (err) {
    await running.close();
    throw new Error(`cannot listen for metrics on ${settings.metricsHost}:${settings.metricsPort}: ${(err as Error).message}`, { cause: err });
  }
  logger.info({ port: address.port, host: settings.host, metricsPort: metricsAddress.port }, "webhook listening");
  const close = async (): Promise<void> => {
    await tls.stop();
    await cache.stop();
    await running.close();
    await metricsServer.close();
  };
  try {
    cache.start();
    await cache.waitForSync(settings.syncTimeoutMs);
    if (settings.manageConfig) {
      const endpoint: WebhookEndpoint = settings.url
        ? { url: settings.url }
        : { service: { namespace: settings.namespace, name: settings.service, port: 443 } };
      const bundle = tls.state?.bundle ?? [];
      await config.ensure(webhookConfiguration({ name: settings.configName, endpoint, caBundle: bundle }));
      logger.info({ object: settings.configName, cas: bundle.length }, "ValidatingWebhookConfiguration in place");
    }
    tls.start();
  } catch (err) {
    await close();
    throw err;
  }
  return { port: address.port, metricsPort: metricsAddress.port, metrics, server: running, cache, tls, config, close };
}

function nextSignal(): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = (): void => {
      process.off("SIGTERM", done);
      process.off("SIGINT", done);
      resolve();
    };
    process.once("SIGTERM", done);
    process.once("SIGINT", done);
  });
}

/** `tcp-tuning webhook`: runs until SIGTERM or SIGINT; returns the exit code. */
export async function runWebhook(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let settings: WebhookSettings | "help";
  try {
    settings = parseWebhookArgs(argv, env);
  } catch (err) {
    process.stderr.write(`tcp-tuning webhook: ${err instanceof Error ? err.message : String(err)}\n${WEBHOOK_USAGE}`);
    return 2;
  }
  if (settings === "help") {
    process.stdout.write(WEBHOOK_USAGE);
    return 0;
  }
  const logger = createLogger("webhook");
  let running: RunningWebhook;
  try {
    running = await startWebhook(settings, { logger });
  } catch (err) {
    logger.error({ err }, "webhook failed to start");
    return 1;
  }
  await nextSignal();
  if (settings.shutdownDelayMs > 0) {
    // The pod is terminating but may still be an endpoint of the Service for a few seconds, and with
    // failurePolicy Fail every admission sent here while the port is closed fails. Keep answering,
    // tell the readiness probe we are going, and close once the routing has caught up.
    logger.info({ delayMs: settings.shutdownDelayMs }, "stopping: still answering while the Service stops routing here");
    running.server.drain();
    await Promise.race([nextSignal(), new Promise((resolve) => setTimeout(resolve, settings.shutdownDelayMs))]);
  }
  logger.info("stopping");
  await running.close();
  return 0;
}
