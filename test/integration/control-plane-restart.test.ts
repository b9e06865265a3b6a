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

// kube-apiserver and etcd restarted under running watches (issue 14). This file runs its own control
// plane (the shared one cannot be restarted under other files): the controller process (informers on
// policies, node states and nodes), simulated agents (an informer on node states) and one real agent
// process (its watch on its own node state, a plain-file sysctl root) all keep running; after each
// restart a change is made and must reach every node: the watches recovered, nothing was lost.

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
  await plane?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("the control plane restarted under running watches", () => {
  it.each([
    ["kube-apiserver", "25", 2],
    ["etcd", "20", 3],
  ] as const)(
    "after %s restarts, a change made then reaches every node (controller, simulated agents' informer, the real agent's watch)",
    async (which, value, generation) => {
      const downMs = await plane.restart(which, 2000);
      await setFin(value);
      const reconciledMs = await readyEverywhere(value, generation);
      process.stderr.write(
        `control-plane-restart: ${which} away ${downMs} ms; the change after it reached all ${SIMULATED.length + 1} nodes in ${reconciledMs} ms; controller processes restarted after a lost Lease so far: ${controllerRestarts}\n`,
      );
      expect(agent.exitDescription()).toBeUndefined();
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
});
