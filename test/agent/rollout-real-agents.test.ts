import { mkdtemp, rm } from "node:fs/promises";
import { release, tmpdir } from "node:os";
import { join } from "node:path";
import { CoreV1Api, CustomObjectsApi, KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { API_GROUP, API_VERSION, POLICY_PLURAL } from "../../src/api/v1alpha1/group.js";
import { policySchema, type Policy } from "../../src/api/v1alpha1/policy.js";
import { mergePatch } from "../../src/kube/patch.js";
import { ControlPlane } from "../support/control-plane.js";
import { ControllerProcess } from "../support/controller-process.js";
import { installCrds } from "../support/crds.js";
import { AgentProcess, agentFiles, eventually, removeAgentFiles, type AgentFiles } from "./support/agent-process.js";
import { agentKubeconfig } from "./support/agent-identity.js";
import { bridgeApiserver, type ApiserverBridge } from "./support/apiserver-bridge.js";
import { createNamespace, destroyAllNamespaces, nsSysctl } from "./support/netns.js";
import { acceptQueueBurst } from "./support/tcp-burst.js";

/**
 * The gradual rollout with real agents: a real control plane, the controller process, three Nodes
 * and for each a real `tcp-tuning agent` in its own network namespace with the Kubernetes backend
 * under its own identity. The policy lowers net.core.somaxconn; while the canary soaks, a listener
 * in the canary's namespace stalls under a bounded burst of local connects, so its accept queue
 * overflows. The agent's own counters carry it to the health gate, which fails the canary; with
 * rollback the canary gets its original somaxconn back, and no other node is touched.
 */

const SOMAXCONN = "net.core.somaxconn";
/** Long enough that the workload runs inside the canary's soak even on a loaded machine (starting two node processes in a namespace can take seconds). */
const SOAK_SECONDS = 60;
const NODES = ["a", "b", "c"].map((z) => `real-${z}-${Math.random().toString(16).slice(2, 6)}`);

let plane: ControlPlane;
let kc: KubeConfig;
let custom: CustomObjectsApi;
let dir: string;
let controller: ControllerProcess | undefined;
const agents: AgentProcess[] = [];
const nsOf = new Map<string, string>();
const originals = new Map<string, string>();
const bridges: ApiserverBridge[] = [];
const files: AgentFiles[] = [];

async function getPolicy(name: string): Promise<Policy> {
  return policySchema.parse(await custom.getClusterCustomObject({ group: API_GROUP, version: API_VERSION, plural: POLICY_PLURAL, name }));
}

beforeAll(async () => {
  plane = await ControlPlane.start({ controllers: false });
  kc = new KubeConfig();
  kc.loadFromFile(plane.kubeconfigPath);
  await installCrds(kc);
  custom = kc.makeApiClient(CustomObjectsApi);
  const core = kc.makeApiClient(CoreV1Api);
  dir = await mkdtemp(join(tmpdir(), "tt-real-rollout-"));
  for (const [i, name] of NODES.entries()) {
    await core.createNode({ body: { metadata: { name, labels: { "kubernetes.io/os": "linux", "topology.kubernetes.io/zone": `zone-${i}` } } } });
    await core.patchNodeStatus({ name, body: { status: { nodeInfo: { kernelVersion: release(), operatingSystem: "linux" } } } }, mergePatch());
    const ns = await createNamespace();
    nsOf.set(name, ns);
    originals.set(name, await nsSysctl(ns, SOMAXCONN));
    const f = await agentFiles();
    files.push(f);
    bridges.push(await bridgeApiserver(ns, Number(new URL(plane.server).port), f.dir));
    const agentKc = await agentKubeconfig(kc, name, f.dir);
    agents.push(
      AgentProcess.start({
        ns,
        entry: "cli",
        args: ["--kubeconfig", agentKc, "--state-file", f.state, "--drift-interval", "5s", "--counters-interval", "1s", "--counters-window", "3m"],
        env: { NODE_NAME: name },
      }),
    );
  }
  controller = ControllerProcess.start("controller-real", dir, [
    "--kubeconfig",
    plane.kubeconfigPath,
    "--lease-namespace",
    "default",
    "--lease-name",
    "real-rollout",
    "--resync-period",
    "5s",
  ]);
  // Agents run before any policy: each has reported a few counter samples (the gate's baseline).
  await eventually(
    "counter samples from every agent",
    async () => {
      const list = (await custom.listClusterCustomObject({ group: API_GROUP, version: API_VERSION, plural: "tcptuningnodestates" })) as {
        items: { status?: { counterHistory?: unknown[] } }[];
      };
      return list.items.length === NODES.length && list.items.every((s) => (s.status?.counterHistory?.length ?? 0) >= 3) ? true : undefined;
    },
    180_000,
    500,
  );
}, 300_000);

afterAll(async () => {
  await controller?.stop();
  for (const a of agents) await a.stop("SIGKILL");
  for (const b of bridges) await b.close();
  await destroyAllNamespaces();
  for (const f of files) await removeAgentFiles(f);
  await plane?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
}, 120_000);

describe("a rollout with real agents in network namespaces", () => {
  it("is stopped by the health gate when the canary's accept queue really overflows, and the canary is rolled back", async () => {
    const name = "lower-somaxconn";
    await custom.createClusterCustomObject({
      group: API_GROUP,
      version: API_VERSION,
      plural: POLICY_PLURAL,
      body: {
        apiVersion: `${API_GROUP}/${API_VERSION}`,
        kind: "TcpTuningPolicy",
        metadata: { name },
        spec: {
          sysctls: [{ name: SOMAXCONN, value: "4" }],
          rollout: { maxUnavailable: 1, canary: { nodes: 1, soakSeconds: SOAK_SECONDS }, pauseOnFailure: true, rollback: true },
        },
      },
    });
    // The canary applies the change (the others wait).
    const canary = await eventually(
      "the canary applied",
      async () => {
        const p = await getPolicy(name);
        const node = p.status?.rollout?.waveNodes?.[0];
        return node && (await nsSysctl(nsOf.get(node) as string, SOMAXCONN)) === "4" ? node : undefined;
      },
      180_000,
      250,
    );
    // The workload on the canary: a listener that stalls while 64 connections arrive.
    const outcomes = await acceptQueueBurst(nsOf.get(canary) as string, { port: 9191, connections: 64, stallMs: 2500, connectTimeoutMs: 1500 });
    expect(outcomes["timeout"] ?? 0).toBeGreaterThan(0);
    // The burst ran inside the canary's soak: the wave is still the canary's and not yet judged.
    const during = await getPolicy(name);
    expect(during.status?.rollout).toMatchObject({ wave: 1 });
    expect(during.status?.rollout?.waveCompletedAt).toBeUndefined();

    const halted = await eventually(
      "the health gate to stop the rollout",
      async () => {
        const p = await getPolicy(name);
        return p.status?.rollout?.halted ? p : undefined;
      },
      180_000,
      500,
    );
    expect(halted.status?.rollout?.halted).toMatchObject({ wave: 1, reason: "HealthGate", rolledBack: true });
    const failed = halted.status?.rollout?.failedNodes?.[0];
    expect(failed).toMatchObject({ name: canary, reason: "HealthGate" });
    expect(failed?.message).toMatch(/^health gate: listenOverflows [\d.]+\/s after the change/);
    expect(halted.status?.conditions?.find((c) => c.type === "Degraded")).toMatchObject({ status: "True", reason: "RolloutHalted" });
    process.stderr.write(`real agents: burst ${JSON.stringify(outcomes)}; ${failed?.message}\n`);

    await eventually(
      "the canary's original somaxconn back",
      async () => ((await nsSysctl(nsOf.get(canary) as string, SOMAXCONN)) === originals.get(canary) ? true : undefined),
      120_000,
      500,
    );
    for (const n of NODES) expect(await nsSysctl(nsOf.get(n) as string, SOMAXCONN), n).toBe(originals.get(n));
  }, 400_000);
});
