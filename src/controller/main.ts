import { hostname } from "node:os";
import { parseArgs } from "node:util";
import { CoordinationV1Api, type KubeConfig } from "@kubernetes/client-node";
import { loadKubeConfig, makeApiClient } from "../kube/client.js";
import { LeaderElector } from "../kube/leader-election.js";
import { createLogger } from "../log.js";
import { parseDefaultPlacement, type DefaultPlacement } from "../rules/index.js";
import { componentRegistry, ControllerMetrics, MetricsServer, metricsListenArgs } from "../metrics/index.js";
import { Reconciler } from "./controller.js";

export const CONTROLLER_USAGE = `Usage: tcp-tuning controller [options]

Turns every TcpTuningPolicy into each Linux node's TcpTuningNodeState (priority, conflicts, the rule
engine's runtime checks), and reports each policy's truth in its status and in Events. Only the
leader (a coordination.k8s.io Lease) writes; other replicas stand by with warm caches.

Options (environment variable in brackets)
  --kubeconfig PATH          kubeconfig; default: in-cluster or $KUBECONFIG
  --leader-elect BOOL        elect a leader on a Lease (true); false for a single replica
  --lease-namespace NS       namespace of the Lease [POD_NAMESPACE] (tcp-tuning-system)
  --lease-name NAME          name of the Lease (tcp-tuning-controller)
  --lease-duration DUR       a standby takes over this long after the leader stopped renewing (15s)
  --renew-deadline DUR       the leader gives up leading if it could not renew for this long (10s)
  --retry-period DUR         how often to try to acquire or renew the Lease (2s)
  --identity NAME            this replica in the Lease and in Events [POD_NAME] (host name and pid)
  --resync-period DUR        recompute everything this often even without changes (10m); writes
                             nothing when nothing changed
  --concurrency N            workers applying node states and statuses (4)
  --api-timeout DUR          limit for every API call (30s)
  --sync-timeout DUR         give up starting if the caches have not synced by then (2m)
  --default-placement SPEC   placement of unlabelled nodes, e.g. nat=none,load-balancer=none
  --log-level LEVEL          trace, debug, info, warn, error [LOG_LEVEL] (info)
  --metrics-port N           plain-HTTP port for /metrics, /healthz and /readyz (8080; 0 picks a
                             free port) [METRICS_PORT]
  --metrics-host ADDR        its listen address (0.0.0.0) [METRICS_HOST]
  --help

Durations: 500ms, 30s, 5m.
`;

export interface ControllerSettings {
  readonly kubeconfig: string | undefined;
  readonly leaderElect: boolean;
  readonly leaseNamespace: string;
  readonly leaseName: string;
  readonly leaseDurationMs: number;
  readonly renewDeadlineMs: number;
  readonly retryPeriodMs: number;
  readonly identity: string;
  readonly resyncMs: number;
  readonly concurrency: number;
  readonly apiTimeoutMs: number;
  readonly syncTimeoutMs: number;
  readonly defaultPlacement: DefaultPlacement;
  readonly logLevel: string;
  readonly metricsPort: number;
  readonly metricsHost: string;
}

export function parseDuration(flag: string, text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text.trim());
  if (!m) throw new Error(`--${flag}: not a duration: ${JSON.stringify(text)} (e.g. 500ms, 30s, 5m)`);
  const n = Number(m[1]);
  const ms = Math.round(m[2] === "ms" ? n : m[2] === "s" ? n * 1000 : m[2] === "m" ? n * 60_000 : n * 3_600_000);
  if (ms < 10) throw new Error(`--${flag}: ${text} is too short`);
  return ms;
}

function parseBool(flag: string, text: string): boolean {
  if (text === "true") return true;
  if (text === "false") return false;
  throw new Error(`--${flag} must be true or false, got "${text}"`);
}

const LEVELS = ["trace", "debug", "info", "warn", "error", "fatal", "silent"];

export function parseControllerArgs(argv: readonly string[], env: NodeJS.ProcessEnv): ControllerSettings | "help" {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: false,
    options: {
      kubeconfig: { type: "string" },
      "leader-elect": { type: "string" },
      "lease-namespace": { type: "string" },
      "lease-name": { type: "string" },
      "lease-duration": { type: "string" },
      "renew-deadline": { type: "string" },
      "retry-period": { type: "string" },
      identity: { type: "string" },
      "metrics-port": { type: "string" },
      "metrics-host": { type: "string" },
      "resync-period": { type: "string" },
      concurrency: { type: "string" },
      "api-timeout": { type: "string" },
      "sync-timeout": { type: "string" },
      "default-placement": { type: "string" },
      "log-level": { type: "string" },
      help: { type: "boolean" },
    },
  });
  if (values.help) return "help";
  const concurrency = Number(values.concurrency ?? "4");
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64)
    throw new Error(`--concurrency must be an integer from 1 to 64, got "${values.concurrency}"`);
  const logLevel = values["log-level"] ?? env["LOG_LEVEL"] ?? "info";
  if (!LEVELS.includes(logLevel)) throw new Error(`--log-level must be one of ${LEVELS.join(", ")}, got "${logLevel}"`);
  const metrics = metricsListenArgs(values, env);
  const settings: ControllerSettings = {
    kubeconfig: values.kubeconfig,
    leaderElect: parseBool("leader-elect", values["leader-elect"] ?? "true"),
    leaseNamespace: values["lease-namespace"] ?? env["POD_NAMESPACE"] ?? "tcp-tuning-system",
    leaseName: values["lease-name"] ?? "tcp-tuning-controller",
    leaseDurationMs: parseDuration("lease-duration", values["lease-duration"] ?? "15s"),
    renewDeadlineMs: parseDuration("renew-deadline", values["renew-deadline"] ?? "10s"),
    retryPeriodMs: parseDuration("retry-period", values["retry-period"] ?? "2s"),
    identity: values.identity ?? env["POD_NAME"] ?? `${hostname()}-${process.pid}`,
    resyncMs: parseDuration("resync-period", values["resync-period"] ?? "10m"),
    concurrency,
    apiTimeoutMs: parseDuration("api-timeout", values["api-timeout"] ?? "30s"),
    syncTimeoutMs: parseDuration("sync-timeout", values["sync-timeout"] ?? "2m"),
    defaultPlacement: parseDefaultPlacement(values["default-placement"] ?? ""),
    metricsPort: metrics.port,
    metricsHost: metrics.host,
    logLevel,
  };
  if (!(settings.renewDeadlineMs < settings.leaseDurationMs)) throw new Error("--renew-deadline must be shorter than --lease-duration");
  if (!(settings.retryPeriodMs < settings.renewDeadlineMs)) throw new Error("--retry-period must be shorter than --renew-deadline");
  return settings;
}

/** `tcp-tuning controller`: runs until SIGTERM or SIGINT (exit 0), or until leadership is lost (exit 1, to restart clean). */
export async function runController(argv: readonly string[]): Promise<number> {
  let settings: ControllerSettings | "help";
  try {
    settings = parseControllerArgs(argv, process.env);
  } catch (err) {
    process.stderr.write(`tcp-tuning controller: ${(err as Error).message}\n${CONTROLLER_USAGE}`);
    return 2;
  }
  if (settings === "help") {
    process.stdout.write(CONTROLLER_USAGE);
    return 0;
  }
  const s = settings;
  const logger = createLogger("controller", { level: s.logLevel });
  let kubeConfig: KubeConfig;
  try {
    kubeConfig = loadKubeConfig(s.kubeconfig);
  } catch (err) {
    logger.error({ err, controller: "controller" }, "cannot load the kubeconfig");
    return 1;
  }
  const registry = componentRegistry("controller");
  const metrics = new ControllerMetrics(registry);
  const reconciler = new Reconciler({
    kubeConfig,
    logger,
    metrics,
    identity: s.identity,
    apiTimeoutMs: s.apiTimeoutMs,
    concurrency: s.concurrency,
    resyncMs: s.resyncMs,
    defaultPlacement: s.defaultPlacement,
  });
  let exitCode = 0;
  let finish: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const onSignal = (): void => finish();
  process.once("SIGTERM", onSignal);
  process.once("SIGINT", onSignal);

  let elector: LeaderElector | undefined;
  let stopping = false;
  const metricsServer = new MetricsServer({
    registry,
    ready: () => reconciler.cache.synced,
    notReadyReason: () => "caches not synced yet",
    logger: logger.child({ part: "metrics" }),
  });
  try {
    const address = await metricsServer.listen(s.metricsPort, s.metricsHost);
    logger.info({ controller: "controller", metricsPort: address.port }, "metrics listening");
    logger.info({ controller: "controller", identity: s.identity, leaderElect: s.leaderElect }, "starting");
    await reconciler.start(s.syncTimeoutMs);
    if (s.leaderElect) {
      elector = new LeaderElector({
        api: makeApiClient(kubeConfig, CoordinationV1Api, { timeoutMs: s.apiTimeoutMs }),
        namespace: s.leaseNamespace,
        name: s.leaseName,
        identity: s.identity,
        leaseDurationMs: s.leaseDurationMs,
        renewDeadlineMs: s.renewDeadlineMs,
        retryPeriodMs: s.retryPeriodMs,
        logger,
        onStartedLeading: () => reconciler.setLeading(true),
        onStoppedLeading: () => {
          void reconciler.setLeading(false);
          if (stopping) return;
          // Another replica may be writing already: restart clean rather than race it.
          logger.error({ controller: "controller", identity: s.identity }, "lost leadership; exiting");
          exitCode = 1;
          finish();
        },
        onNewLeader: (leader) => logger.info({ controller: "controller", leader }, "leader observed"),
      });
      elector.start();
    } else {
      await reconciler.setLeading(true);
    }
    await finished;
  } catch (err) {
    logger.error({ err, controller: "controller" }, "controller failed");
    exitCode = 1;
  } finally {
    process.off("SIGTERM", onSignal);
    process.off("SIGINT", onSignal);
    stopping = true;
    // Stop writing first, then hand the Lease over: the next leader starts at its next retry.
    await reconciler.setLeading(false);
    await reconciler.stop();
    await elector?.stop();
    await metricsServer.close();
    logger.info({ controller: "controller", writes: reconciler.writes, passes: reconciler.passes }, "stopped");
  }
  return exitCode;
}
