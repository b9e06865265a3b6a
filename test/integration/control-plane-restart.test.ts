import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CoreV1Api, CustomObjectsApi, KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { API_GROUP, API_GROUP_VERSION, API_VERSION, NODE_STATE_PLURAL, POLICY_PLURAL } from "../../src/api/v1alpha1/group.js";
import { policySchema } from "../../src/api/v1alpha1/policy.js";
import { mergePatch } from "../../src/kube/patch.js";
import { REPO_ROOT, ControlPlane } from "../support/control-plane.js";
import { ControllerProcess } from "../support/controller-process.js";
import { installCrds } from "../support/crds.js";
import { eventually } from "../support/eventually.js";
import { ProcessGroup } from "../support/process-group.js";
import { SimulatedAgents } from "../support/simulated-agents.js";
import { SOAK_FACTOR } from "../support/soak.js";
import { admission, startWebhookProcess } from "./webhook-harness.js";

// kube-apiserver and etcd restarted under running watches (issue 14). This file runs its own control
// plane (the shared one cannot be restarted under other files): the controller process (informers on
// policies, node states and nodes), simulated agents (an informer on node states) and one real agent
// process (its watch on its own node state, a plain-file sysctl root) all keep running; after each
// restart a change is made and must reach every node: the watches recovered, nothing was lost.
// Each restart runs SOAK_FACTOR times (once in CI, 10 times under `npm run soak`). The webhook process
// runs throughout too (it judges every policy change here): at the end, nodes added and changed right
// after another apiserver restart must reach its verdicts.

const FIN = "net.ipv4.tcp_fin_timeout";
const KERNEL = "6.1.0-18-amd64";
const SIMULATED = ["sim-0", "sim-1", "sim-2"];
const REAL = "real-agent";
const POLICY = "restart-fin";
const POLICY_REF = { group: API_GROUP, version: API_VERSION, plural: POLICY_PLURAL };

let plane: ControlPlane;
let kc: KubeConfig;
let dir: string;
let root: string;
let controller: ControllerProcess;
/** Controller processes started after one exited (what the kubelet would do for the Deployment). */
let controllerRestarts = 0;
let supervisor: NodeJS.Timeout | undefined;
const CONTROLLER_ARGS = () => [
  "--kubeconfig",
  plane.kubeconfigPath,
  "--lease-namespace",
  "default",
  "--lease-name",
  "restart",
  "--lease-duration",
  "6s",
  "--renew-deadline",
  "4s",
  "--retry-period",
  "1s",
];
let agents: SimulatedAgents;
let agent: ProcessGroup;
let webhook: ProcessGroup;

async function readyEverywhere(value: string, generation: number): Promise<number> {
  const started = performance.now();
  const custom = kc.makeApiClient(CustomObjectsApi);
  await eventually(
    `${FIN}=${value} on every node and the policy Ready at generation ${generation}`,
    async () => {
      const p = policySchema.parse(await custom.getClusterCustomObject({ ...POLICY_REF, name: POLICY }));
      const ready = p.status?.conditions?.find((c) => c.type === "Ready");
      const simulated = SIMULATED.every((n) => agents.value(n, FIN) === value);
      const real = (await readFile(join(root, "net", "ipv4", "tcp_fin_timeout"), "utf8")).trim() === value;
      return p.status?.observedGeneration === generation && ready?.status === "True" && p.status.nodes?.applied === SIMULATED.length + 1 && simulated && real
        ? true
        : undefined;
    },
    180_000,
    250,
  ).catch(async (err: unknown) => {
    throw new Error(`${(err as Error).message}\ncontroller: ${controller.group.lastLines(10)}\nagent: ${agent.lastLines(10)}`);
  });
  return Math.round(performance.now() - started);
}

async function setFin(value: string): Promise<void> {
  // The apiserver answers again, but a client's first call can still meet a closing connection.
  await eventually(
    "the policy patched",
    async () => {
      await kc
        .makeApiClient(CustomObjectsApi)
        .patchClusterCustomObject({ ...POLICY_REF, name: POLICY, body: { spec: { sysctls: [{ name: FIN, value }] } } }, mergePatch());
      return true;
    },
    60_000,
    500,
  );
}

beforeAll(async () => {
  plane = await ControlPlane.start();
  kc = new KubeConfig();
  kc.loadFromFile(plane.kubeconfigPath);
  await installCrds(kc);
  dir = await mkdtemp(join(tmpdir(), "tt-restart-"));
  webhook = await startWebhookProcess(kc, plane.kubeconfigPath, dir, "restart-webhook");
  const core = kc.makeApiClient(CoreV1Api);
  for (const name of [...SIMULATED, REAL]) {
    await core.createNode({ body: { metadata: { name, labels: { "kubernetes.io/os": "linux", fleet: "restart" } } } });
    await core.patchNodeStatus({ name, body: { status: { nodeInfo: { kernelVersion: KERNEL, operatingSystem: "linux" } } } }, mergePatch());
  }
  agents = new SimulatedAgents(kc);
  await agents.start();
  for (const n of SIMULATED) agents.add(n, KERNEL);
  // The real agent: a plain-file sysctl tree with the one key (and its kernel's boot id).
  root = join(dir, "sysctl");
  await mkdir(join(root, "kernel", "random"), { recursive: true });
  await mkdir(join(root, "net", "ipv4"), { recursive: true });
  await writeFile(join(root, "kernel", "random", "boot_id"), "boot-restart\n");
  await writeFile(join(root, "net", "ipv4", "tcp_fin_timeout"), "60\n");
  await mkdir(join(dir, "state"), { mode: 0o700 });
  agent = new ProcessGroup({
    name: "agent",
    command: process.execPath,
    args: [
      join(REPO_ROOT, "bin", "tcp-tuning.js"),
      "agent",
      "--node-name",
      REAL,
      "--kubeconfig",
      plane.kubeconfigPath,
      "--sysctl-root",
      root,
      "--proc-net",
      join(root, "no-proc-net"),
      "--state-file",
      join(dir, "state", "agent.json"),
      "--drift-interval",
      "5s",
    ],
    env: { ...process.env, LOG_FORMAT: "json" },
    logFile: join(dir, "agent.log"),
  });
  controller = ControllerProcess.start("restart-controller", dir, CONTROLLER_ARGS());
  // The controller exits when it cannot renew its Lease (the apiserver is away longer than the renew
  // deadline): by design, as client-go's leader election does; its Deployment's kubelet starts it again.
  supervisor = setInterval(() => {
    if (controller.exited === undefined) return;
    controllerRestarts++;
    controller = ControllerProcess.start(`restart-controller-${controllerRestarts}`, dir, CONTROLLER_ARGS());
  }, 500);
  await kc.makeApiClient(CustomObjectsApi).createClusterCustomObject({
    ...POLICY_REF,
    body: {
      apiVersion: API_GROUP_VERSION,
      kind: "TcpTuningPolicy",
      metadata: { name: POLICY },
      spec: { nodeSelector: { matchLabels: { fleet: "restart" } }, sysctls: [{ name: FIN, value: "30" }] },
    },
  });
  await readyEverywhere("30", 1);
}, 300_000);

afterAll(async () => {
  if (supervisor) clearInterval(supervisor);
  await controller?.stop();
  await agent?.stop();
  await agents?.stop();
  await webhook?.stop();
  await plane?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** kube-apiserver, then etcd, SOAK_FACTOR times: each restart changes the policy to a new value (generation 2, 3, ...). */
const RESTARTS = Array.from({ length: 2 * SOAK_FACTOR }, (_, i) => {
  const which = i % 2 === 0 ? "kube-apiserver" : "etcd";
  return { which, round: Math.floor(i / 2) + 1, value: String(21 + i), generation: 2 + i } as const;
});

describe("the control plane restarted under running watches", () => {
  it.each(RESTARTS)(
    "after $which restarts (round $round), a change made then reaches every node (controller, simulated agents' informer, the real agent's watch)",
    async ({ which, value, generation }) => {
      const downMs = await plane.restart(which, 2000);
      await setFin(value);
      const reconciledMs = await readyEverywhere(value, generation);
      process.stderr.write(
        `control-plane-restart: ${which} away ${downMs} ms; the change after it reached all ${SIMULATED.length + 1} nodes in ${reconciledMs} ms; controller processes restarted after a lost Lease so far: ${controllerRestarts}\n`,
      );
      expect(agent.exitDescription()).toBeUndefined();
      expect(webhook.exitDescription()).toBeUndefined();
      // The agent's state of the node is right in the API as well (its status at this generation).
      await eventually(
        "the real agent's status at the new generation",
        async () => {
          const s = (await kc
            .makeApiClient(CustomObjectsApi)
            .getClusterCustomObject({ group: API_GROUP, version: API_VERSION, plural: NODE_STATE_PLURAL, name: REAL })) as {
            metadata: { generation: number };
            status?: { observedGeneration?: number; keys?: { name: string; result: string; actual?: string }[] };
          };
          return s.status?.observedGeneration === s.metadata.generation &&
            s.status.keys?.some((k) => k.name === FIN && k.result === "Applied" && k.actual === value)
            ? s
            : undefined;
        },
        60_000,
        250,
      );
    },
    300_000,
  );

  it("after kube-apiserver restarts, a node added and kernels changed right after it reach the webhook's verdicts (its node cache watched again)", async () => {
    const core = kc.makeApiClient(CoreV1Api);
    // net.ipv4.tcp_tw_reuse_delay exists from Linux 6.13: the webhook refuses a policy setting it on
    // a node whose kernel is older (and no agent probe says otherwise), naming the node.
    const NEW = "6.14.3-300.fc42.x86_64";
    const OLD = "5.14.0-427.37.1.el9_4.x86_64";
    const tier = "webhook-restart";
    let n = 0;
    const verdict = () =>
      admission(kc, {
        apiVersion: API_GROUP_VERSION,
        kind: "TcpTuningPolicy",
        metadata: { name: `delay-${n++}` },
        spec: { nodeSelector: { matchLabels: { tier } }, sysctls: [{ name: "net.ipv4.tcp_tw_reuse_delay", value: "1000" }] },
      });
    const setKernel = (name: string, kernelVersion: string) =>
      core.patchNodeStatus({ name, body: { status: { nodeInfo: { kernelVersion, operatingSystem: "linux" } } } }, mergePatch());
    const refusedOn = (node: string) => new RegExp(`^403 .*does not exist on node ${node}`);
    /** Milliseconds until the webhook's verdict on the delay policy matches. */
    const verdictWithin = async (what: string, ok: (v: string) => boolean): Promise<number> => {
      const t0 = performance.now();
      await eventually(what, async () => (ok(await verdict()) ? true : undefined), 120_000, 250).catch((err: unknown) => {
        throw new Error(`${(err as Error).message}\nwebhook: ${webhook.lastLines(10)}`);
      });
      return Math.round(performance.now() - t0);
    };

    await core.createNode({ body: { metadata: { name: "wh-a", labels: { tier, "kubernetes.io/os": "linux" } } } });
    await setKernel("wh-a", NEW);
    await verdictWithin("the delay policy admitted on wh-a's new kernel", (v) => v === "allowed");

    const downMs = await plane.restart("kube-apiserver", 2000);
    // As soon as the apiserver answers, while the webhook's watches are still reconnecting.
    await eventually(
      "wh-b created after the restart",
      async () => {
        await core.createNode({ body: { metadata: { name: "wh-b", labels: { tier, "kubernetes.io/os": "linux" } } } });
        return true;
      },
      60_000,
      500,
    );
    await setKernel("wh-b", OLD);
    const added = await verdictWithin("the delay policy refused on wh-b, added after the restart", (v) => refusedOn("wh-b").test(v));
    await setKernel("wh-b", NEW);
    const upgraded = await verdictWithin("the delay policy admitted once wh-b's kernel is new", (v) => v === "allowed");
    await setKernel("wh-a", OLD);
    const downgraded = await verdictWithin("the delay policy refused on wh-a after its kernel went back", (v) => refusedOn("wh-a").test(v));
    process.stderr.write(
      `control-plane-restart: webhook after kube-apiserver away ${downMs} ms: node added then refused in ${added} ms, kernel upgraded then admitted in ${upgraded} ms, kernel downgraded then refused in ${downgraded} ms\n`,
    );
    expect(webhook.exitDescription()).toBeUndefined();
  }, 300_000);
});
