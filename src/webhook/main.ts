import { parseArgs } from "node:util";
import type { KubeConfig } from "@kubernetes/client-node";
import { loadKubeConfig } from "../kube/client.js";
import { createLogger, type Logger } from "../log.js";
import { componentRegistry, MetricsServer, metricsListenArgs, WebhookMetrics } from "../metrics/index.js";
import { parseDefaultPlacement, type DefaultPlacement } from "../rules/index.js";
import {
  CertDirectory,
  NamespaceMissingError,
  SecretStore,
  TlsManager,
  validityOf,
  type DirectoryCertificates,
  type KeyPair,
  type RotationPolicy,
} from "../certs/index.js";
import { WebhookConfigClient, caBundleOf, webhookConfiguration, WEBHOOK_CONFIGURATION_NAME, type WebhookEndpoint } from "./config.js";
import { NodeCache } from "./node-cache.js";
import { WebhookServer } from "./server.js";

const DAY = 24 * 3600 * 1000;

export const WEBHOOK_USAGE = `Usage: tcp-tuning webhook [options]

Runs the TcpTuningPolicy validating admission webhook: judges every policy CREATE and UPDATE with the
rule engine against the cluster's nodes. TLS modes (docs/webhook.md):
  self-managed  its own CA and serving certificate in a Secret, rotated before expiry, and the
                ValidatingWebhookConfiguration's caBundle kept current (default)
  cert-manager  serves tls.crt/tls.key from --cert-dir (a cert-manager Secret volume), reloads them
                when they change; never writes the configuration nor its caBundle (the CA injector does)
  files         serves tls.crt/tls.key from --cert-dir and reloads them; the caBundle comes from its
                ca.crt unless --no-manage-config
Run outside a pod (a person developing against a local cluster), a configuration it wrote is deleted
again when it stops (SIGINT/SIGTERM), so a stopped webhook never leaves policy writes refused.

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
  --tls-mode MODE             self-managed | cert-manager | files (self-managed) [WEBHOOK_TLS_MODE]
  --cert-dir DIR              directory with tls.crt, tls.key (and ca.crt) for cert-manager and files
                              modes (/etc/tcp-tuning/webhook-tls) [WEBHOOK_CERT_DIR]
  --no-manage-config          write neither the configuration nor its caBundle (a chart owns both)
  --ca-bundle-only            the configuration exists (a chart owns it): only keep its caBundle current
  --keep-config-on-exit       outside a pod: leave the configuration in place when stopping
  --ip ADDR                   extra IP address for the serving certificate (repeatable)
  --dns NAME                  extra DNS name for the serving certificate (repeatable)
  --default-placement SPEC    placement of unlabelled nodes, e.g. nat=none,load-balancer=none
  --ca-validity-days N        (3650)      --cert-validity-days N (365)
  --shutdown-delay-seconds N  after SIGTERM, keep answering (readyz 503) this long so the Service
                              stops routing here before the port closes (5); a second signal cuts it
  --help
`;

export const TLS_MODES = ["self-managed", "cert-manager", "files"] as const;
export type TlsMode = (typeof TLS_MODES)[number];

/**
 * What the webhook writes of its ValidatingWebhookConfiguration:
 * all (creates it and keeps its caBundle), ca-bundle (a chart owns it; the caBundle is injected), none.
 */
export type ConfigWrites = "all" | "ca-bundle" | "none";

/** Whether this process runs in a pod: the kubelet gives every container the apiserver's Service address. */
export const inPod = (env: NodeJS.ProcessEnv): boolean => Boolean(env["KUBERNETES_SERVICE_HOST"]);

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
  readonly tlsMode: TlsMode;
  /** cert-manager and files modes: where tls.crt, tls.key and ca.crt are mounted. */
  readonly certDir: string;
  /** What the webhook writes of the ValidatingWebhookConfiguration. */
  readonly configWrites: ConfigWrites;
  /** Delete the configuration when stopping (a local run: nothing must stay locked behind a dead webhook). */
  readonly removeConfigOnExit: boolean;
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
      "tls-mode": { type: "string" },
      "cert-dir": { type: "string" },
      "no-manage-config": { type: "boolean" },
      "ca-bundle-only": { type: "boolean" },
      "keep-config-on-exit": { type: "boolean" },
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
  const tlsMode = values["tls-mode"] ?? env["WEBHOOK_TLS_MODE"] ?? "self-managed";
  if (!TLS_MODES.includes(tlsMode as TlsMode)) throw new Error(`--tls-mode must be one of ${TLS_MODES.join(", ")}, got "${tlsMode}"`);
  if (values["no-manage-config"] && values["ca-bundle-only"]) throw new Error("--no-manage-config and --ca-bundle-only exclude each other");
  if (tlsMode === "cert-manager" && values["ca-bundle-only"])
    throw new Error("--ca-bundle-only does not apply to --tls-mode cert-manager: cert-manager's CA injector owns the caBundle");
  // cert-manager mode writes nothing: the chart owns the configuration and the CA injector its caBundle.
  const configWrites: ConfigWrites = tlsMode === "cert-manager" || values["no-manage-config"] ? "none" : values["ca-bundle-only"] ? "ca-bundle" : "all";
  const metrics = metricsListenArgs(values, env);
  return {
    kubeconfig: values.kubeconfig,
    port: intArg("port", values.port ?? env["WEBHOOK_PORT"] ?? "8443", 0),
    host: values.host ?? env["WEBHOOK_HOST"] ?? "0.0.0.0",
    metricsPort: metrics.port,
    metricsHost: metrics.host,
    namespace,
    service,
    url,
    secret: values.secret ?? `${service}-tls`,
    configName: values["config-name"] ?? WEBHOOK_CONFIGURATION_NAME,
    tlsMode: tlsMode as TlsMode,
    certDir: values["cert-dir"] ?? env["WEBHOOK_CERT_DIR"] ?? "/etc/tcp-tuning/webhook-tls",
    configWrites,
    removeConfigOnExit: configWrites === "all" && !inPod(env) && !values["keep-config-on-exit"],
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
  /** Self-managed mode: the certificate manager (undefined in the modes that serve files). */
  readonly tls: TlsManager | undefined;
  /** cert-manager and files modes: the directory followed. */
  readonly certDirectory: CertDirectory | undefined;
  readonly config: WebhookConfigClient;
  close(): Promise<void>;
}

export interface StartDeps {
  readonly kubeConfig?: KubeConfig;
  readonly logger?: Logger;
}

/** Where the served certificate comes from, and the CAs the apiserver must trust for it. */
interface TlsSource {
  /** The pair to serve now (the server is created with it; later changes go through `serve`). */
  current(): KeyPair;
  readonly tls: TlsManager | undefined;
  readonly certDirectory: CertDirectory | undefined;
  /** The CAs the configuration must carry when the webhook writes it (undefined: none known). */
  bundle(): readonly string[] | undefined;
  start(): void;
  stop(): Promise<void>;
}

async function selfManagedTls(
  settings: WebhookSettings,
  kc: KubeConfig,
  config: WebhookConfigClient,
  logger: Logger,
  serve: (pair: KeyPair) => void,
): Promise<TlsSource> {
  const store = new SecretStore(kc, settings.namespace, settings.secret);
  let current: KeyPair | undefined;
  const tls = new TlsManager({
    store,
    bundle: {
      read: async () => {
        const c = await config.read();
        return c ? caBundleOf(c) : undefined;
      },
      // --no-manage-config: the caBundle is only read (is the new CA trusted yet?), someone else writes it.
      ...(settings.configWrites === "none" ? {} : { write: (bundle: readonly string[]) => config.setCaBundle(bundle) }),
    },
    policy: { ...settings.rotation, names: { dnsNames: settings.dnsNames, ipAddresses: settings.ipAddresses } },
    logger: logger.child({ part: "tls" }),
    onServing: (pair) => {
      current = pair;
      serve(pair);
    },
    resyncMs: settings.resyncMs,
  });
  await tls.reconcile();
  const first = current;
  if (!first) throw new Error("no serving certificate after the first certificate reconciliation");
  return { current: () => current ?? first, tls, certDirectory: undefined, bundle: () => tls.state?.bundle, start: () => tls.start(), stop: () => tls.stop() };
}

async function directoryTls(settings: WebhookSettings, config: WebhookConfigClient, logger: Logger, serve: (pair: KeyPair) => void): Promise<TlsSource> {
  let latest: DirectoryCertificates | undefined;
  let started = false;
  const log = logger.child({ part: "tls" });
  const certDirectory = new CertDirectory({
    dir: settings.certDir,
    logger: log,
    onChange: async (certs) => {
      latest = certs;
      serve(certs.serving);
      if (!started) return;
      // files mode writing the configuration: the apiserver must trust the new CA (cert-manager mode never gets here).
      if (settings.configWrites !== "none" && certs.caBundle) {
        await config.setCaBundle(certs.caBundle).catch((err: unknown) => log.error({ err }, "updating the caBundle from ca.crt failed"));
      }
    },
  });
  const first = await certDirectory.start();
  if (settings.configWrites !== "none" && !first.caBundle) {
    await certDirectory.stop();
    throw new Error(`${settings.certDir}/ca.crt is missing: --tls-mode files writes the configuration's caBundle from it; add it, or pass --no-manage-config`);
  }
  return {
    current: () => (latest ?? first).serving,
    tls: undefined,
    certDirectory,
    bundle: () => (latest ?? first).caBundle,
    start: () => {
      started = true;
    },
    stop: () => certDirectory.stop(),
  };
}

/**
 * Starts the webhook: certificates first (self-managed: from the Secret, made if missing; otherwise
 * from the mounted directory), then the HTTPS server, then the node cache (ready once synced), and
 * only then the ValidatingWebhookConfiguration, so the apiserver is never pointed at a webhook that
 * cannot answer yet.
 */
export async function startWebhook(settings: WebhookSettings, deps: StartDeps = {}): Promise<RunningWebhook> {
  const logger = deps.logger ?? createLogger("webhook");
  const kc = deps.kubeConfig ?? loadKubeConfig(settings.kubeconfig);
  const config = new WebhookConfigClient(kc, settings.configName);
  let server: WebhookServer | undefined;
  const serve = (pair: KeyPair): void => server?.setTls(pair);
  const source =
    settings.tlsMode === "self-managed" ? await selfManagedTls(settings, kc, config, logger, serve) : await directoryTls(settings, config, logger, serve);
  const cache = new NodeCache({ kubeConfig: kc, logger: logger.child({ part: "cache" }), defaultPlacement: settings.defaultPlacement });
  const registry = componentRegistry("webhook");
  const metrics = new WebhookMetrics(registry, {
    cache: cache.index,
    // The serving certificate in use, and the CA of the bundle that expires last (the one a rotation moves to).
    certificates: () => {
      const cas = source.bundle() ?? [];
      const ca = cas.reduce<string | undefined>(
        (best, pem) => (best === undefined || validityOf(pem).notAfter > validityOf(best).notAfter ? pem : best),
        undefined,
      );
      return ca === undefined ? { serving: source.current().certPem } : { serving: source.current().certPem, ca };
    },
    expiryOf: (pem) => validityOf(pem).notAfter,
  });
  server = new WebhookServer({
    tls: source.current(),
    snapshot: () => cache.snapshot(),
    ready: () => cache.synced,
    logger: logger.child({ part: "server" }),
    metrics,
  });
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
    await source.stop();
    throw new Error(`cannot listen for metrics on ${settings.metricsHost}:${settings.metricsPort}: ${(err as Error).message}`, { cause: err });
  }
  logger.info(
    { port: address.port, host: settings.host, metricsPort: metricsAddress.port, tlsMode: settings.tlsMode, configWrites: settings.configWrites },
    "webhook listening",
  );
  const close = async (): Promise<void> => {
    await source.stop();
    await cache.stop();
    await running.close();
    await metricsServer.close();
  };
  try {
    cache.start();
    await cache.waitForSync(settings.syncTimeoutMs);
    if (settings.configWrites === "all") {
      const endpoint: WebhookEndpoint = settings.url
        ? { url: settings.url }
        : { service: { namespace: settings.namespace, name: settings.service, port: 443 } };
      const bundle = source.bundle() ?? [];
      await config.ensure(webhookConfiguration({ name: settings.configName, endpoint, caBundle: bundle }));
      logger.info({ object: settings.configName, cas: bundle.length }, "ValidatingWebhookConfiguration in place");
    } else if (settings.configWrites === "ca-bundle" && settings.tlsMode === "files") {
      const bundle = source.bundle();
      if (bundle) await config.setCaBundle(bundle);
    }
    source.start();
  } catch (err) {
    await close();
    throw err;
  }
  return {
    port: address.port,
    metricsPort: metricsAddress.port,
    metrics,
    server: running,
    cache,
    tls: source.tls,
    certDirectory: source.certDirectory,
    config,
    close,
  };
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
    if (err instanceof NamespaceMissingError) {
      // A setup step missing on the person's side: one line that says what and how to fix, no API dump.
      process.stderr.write(`tcp-tuning webhook: ${err.message}\n`);
      return 1;
    }
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
  if (settings.removeConfigOnExit) {
    // A local run: the configuration (failurePolicy Fail) would refuse every later policy write once
    // this process is gone. It goes before the port closes, so no admission meets a closed port.
    try {
      await running.config.delete();
      logger.info({ object: settings.configName }, "ValidatingWebhookConfiguration removed (run outside a pod)");
    } catch (err) {
      logger.error(
        { err, object: settings.configName },
        "could not remove the ValidatingWebhookConfiguration; delete it by hand or policy writes stay refused",
      );
    }
  }
  await running.close();
  return 0;
}
