import { parseArgs } from "node:util";
import { z } from "zod";
import { createLogger } from "../log.js";
import { AGENT_METRICS_PORT, AgentMetrics, componentRegistry, MetricsServer, metricsListenArgs } from "../metrics/index.js";
import { Agent, type AgentBackend } from "./main.js";
import { createFileBackend } from "./file-backend.js";
import { createSysctlFs } from "./sysctl-fs.js";

/**
 * The node agent's command line (`tcp-tuning agent`, entry point src/cmd/agent.ts): flags, then the
 * agent wired to its backend. Runs until SIGTERM/SIGINT, which stop it WITHOUT restoring anything.
 * Returns the process exit code.
 *
 *   --node-name NAME        default $NODE_NAME (the downward API's spec.nodeName)
 *   --sysctl-root DIR       default /proc/sys (the network namespace the agent runs in)
 *   --state-file FILE       originals, default /var/lib/tcp-tuning/agent-state.json (a hostPath)
 *   --drift-interval DUR    default 60s (e.g. 500ms, 30s, 5m)
 *   --kubeconfig FILE       default $KUBECONFIG, ~/.kube/config, or in-cluster
 *   --desired-file FILE     read desired state from a file instead of the API server
 *   --status-file FILE      with --desired-file: write status here
 *   --events-file FILE      with --desired-file: append Events here as JSON lines
 *   --poll-interval DUR     with --desired-file: how often to re-read it (default 1s)
 *   --proc-net DIR          TCP counters source, default /proc/net
 *   --counters-report-interval DUR  when nothing else changed, write the counters to status this often (+-20 %), default 10m
 *   --metrics-port N        plain-HTTP /metrics, /healthz, /readyz (default $METRICS_PORT or 9810, the chart's agent port; 0 = any free port)
 *   --metrics-host ADDR     its listen address (default $METRICS_HOST or 0.0.0.0)
 *   --counters-interval DUR how often the TCP counters are sampled (+-20 % jitter), default 30s
 *   --counters-window DUR   after a change, write every sample to status for this long, default 10m
 */

export const AGENT_USAGE = `usage: tcp-tuning agent [--node-name NAME] [--sysctl-root DIR] [--state-file FILE] [--drift-interval 60s]
                        [--kubeconfig FILE | --desired-file FILE [--status-file FILE] [--events-file FILE] [--poll-interval 1s]]
                        [--proc-net DIR] [--counters-report-interval 10m] [--counters-interval 30s] [--counters-window 10m]
                        [--metrics-port 9810] [--metrics-host 0.0.0.0]
`;

/** Test hook: pause (forever) after this many sysctl writes of one pass, so a test can kill -9 mid-generation. */
export const PAUSE_AFTER_WRITES_ENV = "TCP_TUNING_AGENT_TEST_PAUSE_AFTER_WRITES";

export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
  if (!m) throw new Error(`not a duration: ${JSON.stringify(text)} (e.g. 500ms, 30s, 5m)`);
  const n = Number(m[1]);
  const ms = m[2] === "ms" ? n : m[2] === "m" ? n * 60_000 : n * 1000;
  if (!(ms >= 10)) throw new Error(`duration too short: ${text}`);
  return Math.round(ms);
}

const optionsSchema = z.object({
  nodeName: z.string().min(1, "a node name is required: --node-name or NODE_NAME"),
  sysctlRoot: z.string().min(1),
  stateFile: z.string().min(1),
  driftIntervalMs: z.number().int().positive(),
  kubeconfig: z.string().optional(),
  desiredFile: z.string().optional(),
  statusFile: z.string().optional(),
  eventsFile: z.string().optional(),
  pollIntervalMs: z.number().int().positive(),
  procNet: z.string().min(1),
  countersReportIntervalMs: z.number().int().positive(),
  metricsPort: z.number().int().min(0).max(65535),
  metricsHost: z.string().min(1),
  countersIntervalMs: z.number().int().positive(),
  countersWindowMs: z.number().int().min(0),
});
export type AgentCliOptions = z.infer<typeof optionsSchema>;

export function parseAgentArgs(argv: readonly string[], env: NodeJS.ProcessEnv): AgentCliOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      "node-name": { type: "string" },
      "sysctl-root": { type: "string" },
      "state-file": { type: "string" },
      "drift-interval": { type: "string" },
      kubeconfig: { type: "string" },
      "desired-file": { type: "string" },
      "status-file": { type: "string" },
      "events-file": { type: "string" },
      "poll-interval": { type: "string" },
      "proc-net": { type: "string" },
      "counters-report-interval": { type: "string" },
      "metrics-port": { type: "string" },
      "metrics-host": { type: "string" },
      "counters-interval": { type: "string" },
      "counters-window": { type: "string" },
    },
    strict: true,
    allowPositionals: false,
  });
  const metrics = metricsListenArgs(values, env, AGENT_METRICS_PORT);
  return optionsSchema.parse({
    nodeName: values["node-name"] ?? env["NODE_NAME"] ?? "",
    sysctlRoot: values["sysctl-root"] ?? "/proc/sys",
    stateFile: values["state-file"] ?? "/var/lib/tcp-tuning/agent-state.json",
    driftIntervalMs: parseDuration(values["drift-interval"] ?? "60s"),
    kubeconfig: values.kubeconfig,
    desiredFile: values["desired-file"],
    statusFile: values["status-file"],
    eventsFile: values["events-file"],
    pollIntervalMs: parseDuration(values["poll-interval"] ?? "1s"),
    procNet: values["proc-net"] ?? "/proc/net",
    countersReportIntervalMs: parseDuration(values["counters-report-interval"] ?? "10m"),
    metricsPort: metrics.port,
    metricsHost: metrics.host,
    countersIntervalMs: parseDuration(values["counters-interval"] ?? "30s"),
    countersWindowMs: parseDuration(values["counters-window"] ?? "10m"),
  });
}

async function kubeBackend(o: AgentCliOptions, log: ReturnType<typeof createLogger>): Promise<AgentBackend> {
  const [{ EventsV1Api }, { loadKubeConfig, makeApiClient }, { NodeStateClient }, { EventRecorder }, { createKubeBackend }] = await Promise.all([
    import("@kubernetes/client-node"),
    import("../kube/client.js"),
    import("../kube/node-state-client.js"),
    import("../kube/events.js"),
    import("./kube-backend.js"),
  ]);
  const kc = loadKubeConfig(o.kubeconfig);
  const events = new EventRecorder({ api: makeApiClient(kc, EventsV1Api), controller: "tcptuning.io/agent", instance: o.nodeName, logger: log });
  return createKubeBackend({ nodeName: o.nodeName, client: new NodeStateClient(kc), events, log });
}

export async function runAgentCli(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(AGENT_USAGE);
    return 0;
  }
  let o: AgentCliOptions;
  try {
    o = parseAgentArgs(argv, env);
  } catch (err) {
    const message = err instanceof z.ZodError ? z.prettifyError(err) : (err as Error).message;
    process.stderr.write(`tcp-tuning agent: ${message}\n${AGENT_USAGE}`);
    return 2;
  }
  const log = createLogger("agent");
  const backend = o.desiredFile
    ? createFileBackend({
        nodeName: o.nodeName,
        desiredFile: o.desiredFile,
        statusFile: o.statusFile,
        eventsFile: o.eventsFile,
        pollIntervalMs: o.pollIntervalMs,
        log,
      })
    : await kubeBackend(o, log);

  const pauseAfter = Number(env[PAUSE_AFTER_WRITES_ENV] ?? "0");
  const afterWrite =
    pauseAfter > 0
      ? async (name: string, writes: number): Promise<void> => {
          if (writes < pauseAfter) return;
          log.warn({ sysctl: name, writes, hook: PAUSE_AFTER_WRITES_ENV }, "test hook: paused after a sysctl write");
          await new Promise<never>(() => undefined);
        }
      : undefined;

  const registry = componentRegistry("agent");
  const metrics = new AgentMetrics(registry, o.nodeName);
  const agent = new Agent({
    nodeName: o.nodeName,
    fs: createSysctlFs(o.sysctlRoot),
    stateFile: o.stateFile,
    procNet: o.procNet,
    driftIntervalMs: o.driftIntervalMs,
    countersReportIntervalMs: o.countersReportIntervalMs,
    countersIntervalMs: o.countersIntervalMs,
    countersWindowMs: o.countersWindowMs,
    backend,
    log,
    metrics,
    ...(afterWrite ? { afterWrite } : {}),
  });
  const metricsServer = new MetricsServer({
    registry,
    ready: () => agent.ready,
    notReadyReason: () => "no pass has completed yet",
    logger: log.child({ part: "metrics" }),
  });
  try {
    const address = await metricsServer.listen(o.metricsPort, o.metricsHost);
    log.info({ metricsPort: address.port }, "metrics listening");
  } catch (err) {
    log.error({ err, port: o.metricsPort }, "cannot listen for metrics");
    return 1;
  }

  const stopped = new Promise<number>((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      log.info({ signal }, "stopping; sysctls stay as they are (nothing is restored on shutdown)");
      void agent
        .stop()
        .then(() => metricsServer.close())
        .then(() => resolve(0));
    };
    process.once("SIGTERM", onSignal);
    process.once("SIGINT", onSignal);
  });
  try {
    await agent.start();
  } catch (err) {
    log.error({ err }, "agent could not start");
    await metricsServer.close();
    return 1;
  }
  return stopped;
}
