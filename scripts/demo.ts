/**
 * `npm run demo`: the operator end to end on this machine, unattended, in a few minutes.
 *
 * A local control plane (etcd, kube-apiserver, kube-controller-manager, kube-scheduler); the Helm
 * chart rendered and server-side applied (its pods never start: there is no kubelet); Node objects in
 * two zones with different kernels; per node a real agent process in its own network namespace; the
 * webhook and the controller as local processes from the built code (dist/), each with the chart's
 * ServiceAccount and RBAC. Then: the examples applied (an unsafe one refused with its reason), a
 * rollout followed with `tcp-tuning rollout status --watch`, a drift corrected, the originals
 * restored on removal. Everything is stopped and removed at the end (or on Ctrl-C).
 *
 * Needs root (network namespaces), the control plane binaries (bash scripts/k8s-bins.sh) and a
 * build (npm run build; `npm run demo` does it).
 */
import { spawn } from "node:child_process";
import { mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AdmissionregistrationV1Api, ApiException, CustomObjectsApi, KubeConfig } from "@kubernetes/client-node";
import { parseAllDocuments, stringify } from "yaml";
import { API_GROUP, API_VERSION, POLICY_PLURAL } from "../src/api/v1alpha1/group.js";
import { jsonPatch } from "../src/kube/patch.js";
import { nsSysctl, nsSysctlWrite } from "../test/agent/support/netns.js";
import { ControlPlane, REPO_ROOT, binDir } from "../test/support/control-plane.js";
import { installCrds } from "../test/support/crds.js";
import { eventually } from "../test/support/eventually.js";
import { only, renderChart, type Rendered } from "../test/support/helm.js";
import { freePort } from "../test/support/ports.js";
import { ProcessGroup } from "../test/support/process-group.js";
import { serviceAccountKubeconfig } from "../test/support/service-account.js";
import { waitUntilEnforced } from "../test/integration/webhook-harness.js";
import { agentPods, startAgent, type RunningAgent } from "./demo/agents.js";
import { createNodes, exampleFleet } from "./demo/fleet.js";

const NAMESPACE = "tcp-tuning-system";
const RELEASE = "tcp-tuning";
const CLI = join(REPO_ROOT, "bin", "tcp-tuning.js");
const POLICY = { group: API_GROUP, version: API_VERSION, plural: POLICY_PLURAL };

const out = (line = ""): void => void process.stdout.write(`${line}\n`);
const step = (title: string): void => out(`\n== ${title}`);

interface Cleanup {
  (): Promise<void>;
}
const cleanups: Cleanup[] = [];
let cleaning: Promise<void> | undefined;
async function cleanUp(): Promise<void> {
  cleaning ??= (async () => {
    for (const c of cleanups.reverse()) await c().catch((err: unknown) => process.stderr.write(`cleanup: ${(err as Error).message}\n`));
  })();
  return cleaning;
}
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    out(`\n${signal}: stopping everything`);
    void cleanUp().then(() => process.exit(130));
  });
}

/**
 * `tcp-tuning ARGS` from the built code; resolves with the exit code. On a terminal it gets the
 * terminal (the live, redrawn progress view); otherwise its plain lines are shown indented.
 */
function cli(args: readonly string[], kubeconfig: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const tty = process.stdout.isTTY === true;
    const child = spawn(process.execPath, [CLI, ...args, "--kubeconfig", kubeconfig], {
      env: { ...process.env, TCP_TUNING_USE_DIST: "1" },
      stdio: tty ? "inherit" : ["ignore", "pipe", "pipe"],
    });
    const indent = (chunk: Buffer): void => void process.stdout.write(chunk.toString("utf8").replace(/^(?=.)/gm, "   "));
    child.stdout?.on("data", indent);
    child.stderr?.on("data", indent);
    child.once("error", reject);
    child.once("exit", (code) => resolve(code ?? 1));
  });
}

function containerArgs(o: Rendered): string[] {
  const spec = o["spec"] as { template: { spec: { containers: { args: string[] }[] } } };
  return spec.template.spec.containers[0]!.args;
}

async function main(): Promise<void> {
  const started = performance.now();
  const dir = await mkdtemp(join(tmpdir(), "tcp-tuning-demo-"));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));

  step("1. A local control plane (etcd, kube-apiserver, kube-controller-manager, kube-scheduler)");
  const plane = await ControlPlane.start({ controllers: true, dir: join(dir, "control-plane") });
  cleanups.push(() => plane.stop());
  const kc = new KubeConfig();
  kc.loadFromFile(plane.kubeconfigPath);
  await installCrds(kc);
  out(`   ready in ${(plane.timings.total / 1000).toFixed(1)} s at ${plane.server}`);

  step("2. The Helm chart, rendered and server-side applied (identities, RBAC, webhook configuration, DaemonSet)");
  const objects = await renderChart({ release: RELEASE, namespace: NAMESPACE, setJson: ["namespace.create=true", 'defaultPlacement={"nat":"none"}'] });
  const kubectl = join(binDir(["kubectl"]), "kubectl");
  await run(
    kubectl,
    ["--kubeconfig", plane.kubeconfigPath, "apply", "--server-side", "--force-conflicts", "--field-manager=demo", "-f", "-"],
    objects.map((o) => stringify(o)).join("---\n"),
  );
  out(`   ${objects.length} objects: ${[...new Set(objects.map((o) => o.kind))].join(", ")}`);

  step("3. Nodes in two zones with different kernels (Node objects; status through the status subresource)");
  const fleet = exampleFleet();
  await createNodes(kc, fleet.objects);
  for (const n of fleet.nodes) out(`   ${n.name.padEnd(18)} ${n.zone}  ${n.os.padEnd(8)} kernel ${n.kernel}`);
  const linux = fleet.nodes.filter((n) => n.os === "linux").map((n) => n.name);

  step("4. An agent per Linux node: a real process in its own network namespace, as the DaemonSet's pod on that node");
  const pods = await agentPods(kc, NAMESPACE, linux);
  const agents: RunningAgent[] = [];
  cleanups.push(async () => {
    for (const a of agents) await a.stop();
  });
  for (const node of linux) {
    agents.push(
      await startAgent(kc, {
        node,
        pod: pods.get(node)!,
        namespace: NAMESPACE,
        serviceAccount: `tcp-tuning-operator-agent`,
        dir,
        apiserverPort: Number(new URL(plane.server).port),
      }),
    );
    out(`   ${node.padEnd(18)} netns ${agents.at(-1)!.netns}, token bound to pod ${pods.get(node)!.metadata!.name}`);
  }

  step("5. The webhook and the controller, from dist/, each with the chart's ServiceAccount and nothing more");
  const webhookPort = await freePort();
  const configName = `tcp-tuning-operator-${NAMESPACE}`;
  // No kube-proxy here: the API server calls the webhook process at 127.0.0.1 instead of through the Service.
  await kc
    .makeApiClient(AdmissionregistrationV1Api)
    .patchValidatingWebhookConfiguration(
      { name: configName, body: [{ op: "replace", path: "/webhooks/0/clientConfig", value: { url: `https://127.0.0.1:${webhookPort}/validate` } }] },
      jsonPatch(),
    );
  const webhookArgs = containerArgs(only(objects, "Deployment", "-webhook")).filter((a) => !a.startsWith("--port") && !a.startsWith("--metrics-port"));
  const webhook = new ProcessGroup({
    name: "webhook",
    command: process.execPath,
    args: [
      CLI,
      ...webhookArgs,
      "--kubeconfig",
      await serviceAccountKubeconfig(kc, NAMESPACE, "tcp-tuning-operator-webhook", dir),
      "--port",
      String(webhookPort),
      "--host",
      "127.0.0.1",
      "--ip",
      "127.0.0.1",
    ],
    env: { ...process.env, TCP_TUNING_USE_DIST: "1", POD_NAMESPACE: NAMESPACE, LOG_FORMAT: "json" },
    logFile: join(dir, "webhook.log"),
  });
  cleanups.push(() => webhook.stop());
  const controllerArgs = containerArgs(only(objects, "Deployment", "-controller")).filter((a) => !a.startsWith("--metrics-port"));
  const controller = new ProcessGroup({
    name: "controller",
    command: process.execPath,
    args: [CLI, ...controllerArgs, "--kubeconfig", await serviceAccountKubeconfig(kc, NAMESPACE, "tcp-tuning-operator-controller", dir)],
    env: { ...process.env, TCP_TUNING_USE_DIST: "1", POD_NAMESPACE: NAMESPACE, LOG_FORMAT: "json" },
    logFile: join(dir, "controller.log"),
  });
  cleanups.push(() => controller.stop());
  await waitUntilEnforced(kc, 120_000);
  out(`   webhook on https://127.0.0.1:${webhookPort}, controller running; logs in ${dir}`);

  step("6. The examples applied: the webhook judges each against the live nodes");
  const policies = join(REPO_ROOT, "examples", "policies");
  const examples: ExamplePolicy[] = [];
  for (const file of (await readdir(policies)).sort()) {
    for (const doc of parseAllDocuments(await readFile(join(policies, file), "utf8"))) {
      const obj = doc.toJS() as ExamplePolicy | null;
      if (obj?.kind === "TcpTuningPolicy") examples.push(obj);
    }
  }
  // Every key any policy here may change, as each node has it now: what removal must give back.
  const key = "net.ipv4.tcp_keepalive_time";
  const keys = [...new Set([key, ...examples.flatMap((p) => (p.spec?.sysctls ?? []).map((k) => k.name))])].sort();
  const originals = await readValues(agents, keys);
  const custom = kc.makeApiClient(CustomObjectsApi);
  const applied: string[] = [];
  for (const obj of examples) {
    // Soaks shortened for the demo (the examples say minutes).
    if (obj.spec?.rollout?.canary?.soakSeconds) obj.spec.rollout.canary.soakSeconds = 5;
    const name = obj.metadata?.name ?? "?";
    try {
      await custom.createClusterCustomObject({ ...POLICY, body: obj });
      applied.push(name);
      out(`   admitted  ${name}`);
    } catch (err) {
      const message =
        err instanceof ApiException ? ((JSON.parse(String(err.body)) as { message?: string }).message ?? String(err.body)) : (err as Error).message;
      out(`   REFUSED   ${name}:`);
      for (const line of message.split("\n").slice(0, 6)) out(`             ${line}`);
    }
  }

  const demoPolicy = "demo-fleet-keepalive";
  step(`7. A rollout across the fleet, followed live: tcp-tuning rollout status ttp/${demoPolicy} --watch`);
  const before = new Map([...originals].map(([node, values]) => [node, values.get(key)]));
  await custom.createClusterCustomObject({
    ...POLICY,
    body: {
      apiVersion: `${API_GROUP}/${API_VERSION}`,
      kind: "TcpTuningPolicy",
      metadata: { name: demoPolicy },
      spec: {
        nodeSelector: { matchLabels: { "kubernetes.io/os": "linux" } },
        sysctls: [{ name: key, value: "600" }],
        priority: 10,
        mode: "Enforce",
        rollout: { maxUnavailable: 2, canary: { nodes: 1, soakSeconds: 5 }, pauseOnFailure: true },
      },
    },
  });
  const rollout = await cli(["rollout", "status", `ttp/${demoPolicy}`, "--watch", "--timeout", "5m"], plane.kubeconfigPath);
  out(`   rollout status exited ${rollout} (0: Ready)`);
  for (const a of agents) out(`   ${a.node.padEnd(18)} ${key} ${before.get(a.node)} -> ${await nsSysctl(a.netns, key)}`);

  step("8. Drift: someone changes the value by hand on one node; the agent puts it back");
  const victim = agents[0]!;
  await nsSysctlWrite(victim.netns, key, "7777");
  out(`   ${victim.node}: sysctl -w ${key}=7777`);
  await eventually("the agent to correct the drift", async () => ((await nsSysctl(victim.netns, key)) === "600" ? true : undefined), 120_000, 250);
  out(`   ${victim.node}: ${key} is 600 again`);

  step("9. Removal: every policy deleted; the agents restore the original values (in waves too)");
  for (const name of [...applied, demoPolicy]) await custom.deleteClusterCustomObject({ ...POLICY, name });
  await eventually(
    "every original value back on every node",
    async () => {
      const now = await readValues(agents, keys);
      return [...originals].every(([node, values]) => [...values].every(([k, v]) => now.get(node)?.get(k) === v)) ? true : undefined;
    },
    300_000,
    500,
  );
  const admitted = new Set([
    key,
    ...examples.filter((p) => applied.includes(p.metadata?.name ?? "")).flatMap((p) => (p.spec?.sysctls ?? []).map((k) => k.name)),
  ]);
  const shown = keys.filter((k) => admitted.has(k) && agents.some((a) => originals.get(a.node)?.has(k)));
  out(`   ${shown.join(", ")}: back at their originals on all ${agents.length} nodes, e.g.`);
  for (const a of agents) out(`   ${a.node.padEnd(18)} ${key} = ${await nsSysctl(a.netns, key)} (original ${before.get(a.node)})`);

  step("10. Cleaning up");
  await cleanUp();
  out(`   done in ${Math.round((performance.now() - started) / 1000)} s`);
}

interface ExamplePolicy {
  kind?: string;
  metadata?: { name?: string };
  spec?: { sysctls?: { name: string }[]; rollout?: { canary?: { soakSeconds?: number } } };
}

/** Each agent's current value of each key its network namespace has (keys it lacks are left out). */
async function readValues(agents: readonly RunningAgent[], keys: readonly string[]): Promise<Map<string, Map<string, string>>> {
  const out = new Map<string, Map<string, string>>();
  for (const a of agents) {
    const values = new Map<string, string>();
    for (const k of keys) {
      const v = await nsSysctl(a.netns, k).catch(() => undefined);
      if (v !== undefined) values.set(k, v);
    }
    out.set(a.node, values);
  }
  return out;
}

function run(command: string, args: readonly string[], input: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["pipe", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString("utf8")));
    child.once("error", reject);
    child.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`${command} ${args.join(" ")} exited ${code}: ${stderr.trim()}`))));
    child.stdin.end(input);
  });
}

main().catch(async (err: unknown) => {
  process.stderr.write(`\ndemo failed: ${(err as Error).stack ?? String(err)}\n`);
  await cleanUp();
  process.exit(1);
});
