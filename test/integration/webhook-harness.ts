import { join } from "node:path";
import { ApiException, CoreV1Api, CustomObjectsApi, type KubeConfig } from "@kubernetes/client-node";
import { API_GROUP, API_VERSION, POLICY_PLURAL } from "../../src/api/v1alpha1/group.js";
import { mergePatch } from "../../src/kube/patch.js";
import { createLogger } from "../../src/log.js";
import { parseWebhookArgs, startWebhook, type RunningWebhook, type WebhookSettings } from "../../src/webhook/main.js";
import { uniqueName } from "../support/cluster.js";
import { REPO_ROOT } from "../support/control-plane.js";
import { freePort } from "../support/ports.js";
import { ProcessGroup } from "../support/process-group.js";
import { fleetNodes } from "../unit/webhook/support/fleet.js";
import { localWebhookArgs } from "../support/webhook-args.js";

export const POLICY_REF = { group: API_GROUP, version: API_VERSION, plural: POLICY_PLURAL };

export interface TestWebhook {
  readonly hook: RunningWebhook;
  readonly namespace: string;
  readonly configName: string;
  readonly settings: WebhookSettings;
  close(): Promise<void>;
}

/**
 * The real webhook, in this process, registered with the real apiserver by URL
 * (https://127.0.0.1:PORT/validate with its own CA in caBundle), its Secret in a fresh namespace.
 */
export async function startTestWebhook(kc: KubeConfig, tune: (s: WebhookSettings) => WebhookSettings = (s) => s): Promise<TestWebhook> {
  const core = kc.makeApiClient(CoreV1Api);
  const namespace = uniqueName("tt-webhook");
  await core.createNamespace({ body: { metadata: { name: namespace } } });
  const port = await freePort();
  const configName = uniqueName("tcp-tuning-webhook");
  const parsed = parseWebhookArgs([...localWebhookArgs(port, namespace, configName), "--metrics-port", "0", "--metrics-host", "127.0.0.1"], {});
  if (parsed === "help") throw new Error("unexpected help");
  const settings = tune({ ...parsed, syncTimeoutMs: 30_000 });
  const logger = createLogger("webhook-test", { level: process.env["WEBHOOK_TEST_LOG_LEVEL"] ?? "warn", pretty: false });
  const hook = await startWebhook(settings, { kubeConfig: kc, logger });
  await waitUntilEnforced(kc);
  return {
    hook,
    namespace,
    configName,
    settings,
    close: async () => {
      await hook.config.delete();
      await hook.close();
      await core.deleteNamespace({ name: namespace }).catch(() => undefined);
    },
  };
}

/**
 * The real `tcp-tuning webhook` command (bin/tcp-tuning.js) as a child process with JSON logs in
 * `dir`, registered with the apiserver by URL, its Secret in a new namespace; resolves once the
 * apiserver calls it. For tests that keep it running across apiserver restarts or idle watches.
 */
export async function startWebhookProcess(kc: KubeConfig, kubeconfigPath: string, dir: string, name: string): Promise<ProcessGroup> {
  const namespace = uniqueName(name);
  await kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: namespace } } });
  const port = await freePort();
  const group = new ProcessGroup({
    name,
    command: process.execPath,
    args: [
      join(REPO_ROOT, "bin", "tcp-tuning.js"),
      "webhook",
      "--kubeconfig",
      kubeconfigPath,
      ...localWebhookArgs(port, namespace, uniqueName(name)),
      "--shutdown-delay-seconds",
      "0",
      "--metrics-port",
      "0",
      "--metrics-host",
      "127.0.0.1",
    ],
    env: { ...process.env, LOG_FORMAT: "json" },
    logFile: join(dir, `${name}.log`),
  });
  try {
    await waitUntilEnforced(kc, 60_000);
  } catch (err) {
    await group.stop();
    throw group.failure((err as Error).message);
  }
  return group;
}

/** "allowed", or the apiserver's refusal as "CODE BODY": a server-side dry-run create of a policy. */
export async function admission(kc: KubeConfig, body: unknown): Promise<string> {
  try {
    await kc.makeApiClient(CustomObjectsApi).createClusterCustomObject({ ...POLICY_REF, body, dryRun: "All" });
    return "allowed";
  } catch (err) {
    if (err instanceof ApiException) return `${err.code} ${String(err.body)}`;
    throw err;
  }
}

/** A policy every node and every kernel refuses: the CRD admits it, only the webhook refuses it. */
export function alwaysDenied(name: string): Record<string, unknown> {
  return {
    apiVersion: `${API_GROUP}/${API_VERSION}`,
    kind: "TcpTuningPolicy",
    metadata: { name },
    spec: { sysctls: [{ name: "net.ipv4.tcp_syn_retries", value: "128" }] },
  };
}

/** A policy the webhook admits everywhere (one keepalive key), for load that must pass. */
export function alwaysAllowed(name: string): Record<string, unknown> {
  return {
    apiVersion: `${API_GROUP}/${API_VERSION}`,
    kind: "TcpTuningPolicy",
    metadata: { name },
    spec: { sysctls: [{ name: "net.ipv4.tcp_keepalive_time", value: "300" }] },
  };
}

/**
 * Load through the apiserver: `workers` loops of dry-run policy creates, alternately one the webhook
 * refuses and one it admits, until stop(). A refused create must be the webhook's refusal and an
 * admitted one must not be refused: anything else is listed in `failures`. `pauseMs(worker, i)` is
 * waited after request i (0: none), for bursts that leave the apiserver's connections idle.
 */
export class AdmissionLoad {
  readonly failures: string[] = [];
  readonly latencies: number[] = [];
  readonly started = performance.now();
  private stopped = false;
  private readonly loops: Promise<void>[];

  constructor(
    private readonly objects: CustomObjectsApi,
    private readonly prefix: string,
    workers: number,
    private readonly pauseMs: (worker: number, i: number) => number = () => 0,
  ) {
    this.loops = Array.from({ length: workers }, (_, w) => this.loop(w));
  }

  get requests(): number {
    return this.latencies.length;
  }

  /** Stops the loops after their request in flight; resolves with the seconds the load ran. */
  async stop(): Promise<number> {
    this.stopped = true;
    await Promise.all(this.loops);
    return (performance.now() - this.started) / 1000;
  }

  private async loop(w: number): Promise<void> {
    for (let i = 0; !this.stopped; i++) {
      const deny = i % 2 === 0;
      const name = uniqueName(`${this.prefix}-${w}`);
      const t = performance.now();
      try {
        await this.objects.createClusterCustomObject({ ...POLICY_REF, body: deny ? alwaysDenied(name) : alwaysAllowed(name), dryRun: "All" });
        if (deny) this.failures.push(`${name}: admitted although the webhook refuses it`);
      } catch (err) {
        const refusedByWebhook = err instanceof ApiException && err.code === 403 && String(err.body).includes("is refused");
        if (!deny || !refusedByWebhook)
          this.failures.push(`${name}: ${err instanceof ApiException ? `${err.code} ${String(err.body).slice(0, 300)}` : String(err)}`);
      }
      this.latencies.push(performance.now() - t);
      const pause = this.pauseMs(w, i);
      if (pause > 0) await new Promise((r) => setTimeout(r, pause));
    }
  }
}

/** Waits until the apiserver really calls the webhook (it picks up a new configuration asynchronously). */
export async function waitUntilEnforced(kc: KubeConfig, timeoutMs = 20_000): Promise<void> {
  const objects = kc.makeApiClient(CustomObjectsApi);
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    try {
      await objects.createClusterCustomObject({ ...POLICY_REF, body: alwaysDenied(uniqueName("probe")), dryRun: "All" });
    } catch (err) {
      if (err instanceof ApiException && String(err.body).includes("is refused")) return;
    }
    if (performance.now() > deadline) throw new Error(`the apiserver did not call the webhook within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * The sample fleet's nodes as Node objects, names prefixed so runs sharing a control plane do not
 * collide: created with labels, then status.nodeInfo written through the status subresource
 * (a Node's status is ignored on create, as for every object with a status subresource).
 */
export async function createFleetNodes(kc: KubeConfig, prefix: string): Promise<Map<string, string>> {
  const core = kc.makeApiClient(CoreV1Api);
  const names = new Map<string, string>();
  for (const node of fleetNodes()) {
    const meta = node["metadata"] as { name: string; labels: Record<string, string> };
    const status = node["status"] as Record<string, unknown>;
    const name = `${prefix}-${meta.name}`;
    names.set(meta.name, name);
    await core.createNode({ body: { apiVersion: "v1", kind: "Node", metadata: { name, labels: { ...meta.labels, "kubernetes.io/hostname": name } } } });
    await core.patchNodeStatus({ name, body: { status } }, mergePatch());
  }
  return names;
}

export async function deleteNodes(kc: KubeConfig, names: Iterable<string>): Promise<void> {
  const core = kc.makeApiClient(CoreV1Api);
  await Promise.all([...names].map((name) => core.deleteNode({ name }).catch(() => undefined)));
}

/** Waits until the webhook's node cache holds every one of these nodes with a kernel version. */
export async function waitForNodes(hook: RunningWebhook, names: Iterable<string>, timeoutMs = 10_000): Promise<void> {
  const wanted = [...names];
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const have = new Map(hook.cache.index.nodes().map((n) => [n.name, n]));
    if (wanted.every((n) => have.get(n)?.kernelText)) return;
    if (performance.now() > deadline) throw new Error(`node cache is missing ${wanted.filter((n) => !have.get(n)?.kernelText).join(", ")}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export function percentile(samples: readonly number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length))) - 1] ?? NaN;
}
