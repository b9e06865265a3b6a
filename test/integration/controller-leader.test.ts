import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CoordinationV1Api, CoreV1Api, CustomObjectsApi, type KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { API_GROUP, API_VERSION, NODE_STATE_PLURAL, POLICY_PLURAL } from "../../src/api/v1alpha1/group.js";
import { nodeStateSchema } from "../../src/api/v1alpha1/node-state.js";
import { policySchema, type Policy } from "../../src/api/v1alpha1/policy.js";
import { mergePatch } from "../../src/kube/patch.js";
import { CONTROLLER_WRITTEN_RESOURCES, requestCounts, writesTo } from "../support/apiserver-metrics.js";
import { kubeConfig, kubectl, uniqueName } from "../support/cluster.js";
import { ControllerProcess } from "../support/controller-process.js";
import { installCrds } from "../support/crds.js";
import { eventually } from "../support/eventually.js";
import { SimulatedAgents } from "../support/simulated-agents.js";
import { existingNodeStates } from "../support/controller-fixtures.js";

/**
 * Two `tcp-tuning controller` processes on one Lease: only the leader writes; SIGKILLed, the other
 * takes over within the lease duration, the final state is right and no node state is written twice
 * for the same change.
 */

const FIN = "net.ipv4.tcp_fin_timeout";
const NODES = 10;
const KERNEL = "6.1.0-18-amd64";
const LEASE_DURATION_MS = 6000;

let kc: KubeConfig;
let core: CoreV1Api;
let custom: CustomObjectsApi;
let leases: CoordinationV1Api;
let agents: SimulatedAgents;
let dir: string;
const fleet = uniqueName("lead");
const nodeNames = Array.from({ length: NODES }, (_, i) => `${fleet}-${i}`);
const controllers: ControllerProcess[] = [];
const preexistingStates = new Set<string>();

function startController(name: string): ControllerProcess {
  const c = ControllerProcess.start(name, dir, [
    "--kubeconfig",
    process.env["TCP_TUNING_KUBECONFIG"] ?? "",
    "--lease-namespace",
    "default",
    "--lease-name",
    fleet,
    "--lease-duration",
    `${LEASE_DURATION_MS}ms`,
    "--renew-deadline",
    "4s",
    "--retry-period",
    "1s",
  ]);
  controllers.push(c);
  return c;
}

async function holder(): Promise<string | undefined> {
  try {
    return (await leases.readNamespacedLease({ name: fleet, namespace: "default" })).spec?.holderIdentity ?? undefined;
  } catch {
    return undefined;
  }
}

async function getPolicy(name: string): Promise<Policy> {
  return policySchema.parse(await custom.getClusterCustomObject({ group: API_GROUP, version: API_VERSION, plural: POLICY_PLURAL, name }));
}

async function readyAt(name: string, generation: number): Promise<Policy> {
  return eventually(
    `${name} Ready at generation ${generation}`,
    async () => {
      const p = await getPolicy(name);
      const ready = p.status?.conditions?.find((c) => c.type === "Ready");
      return p.metadata.generation === generation &&
        p.status?.observedGeneration === generation &&
        ready?.status === "True" &&
        p.status.nodes?.applied === NODES
        ? p
        : undefined;
    },
    120_000,
    250,
  );
}

beforeAll(async () => {
  kc = kubeConfig();
  await installCrds(kc);
  core = kc.makeApiClient(CoreV1Api);
  custom = kc.makeApiClient(CustomObjectsApi);
  leases = kc.makeApiClient(CoordinationV1Api);
  for (const name of await existingNodeStates(custom)) preexistingStates.add(name);
  dir = await mkdtemp(join(tmpdir(), "tt-leader-"));
  await Promise.all(
    nodeNames.map(async (name) => {
      await core.createNode({ body: { metadata: { name, labels: { "kubernetes.io/os": "linux", fleet } } } });
      await core.patchNodeStatus({ name, body: { status: { nodeInfo: { kernelVersion: KERNEL, operatingSystem: "linux" } } } }, mergePatch());
    }),
  );
  agents = new SimulatedAgents(kc);
  await agents.start();
  for (const n of nodeNames) agents.add(n, KERNEL);
});

afterAll(async () => {
  for (const c of controllers) await c.stop();
  await agents?.stop();
  await custom.deleteClusterCustomObject({ group: API_GROUP, version: API_VERSION, plural: POLICY_PLURAL, name: fleet }).catch(() => undefined);
  for (const n of nodeNames) await core.deleteNode({ name: n }).catch(() => undefined);
  const states = (await custom.listClusterCustomObject({ group: API_GROUP, version: API_VERSION, plural: NODE_STATE_PLURAL })) as {
    items: { metadata: { name: string } }[];
  };
  for (const s of states.items) {
    if (!preexistingStates.has(s.metadata.name))
      await custom
        .deleteClusterCustomObject({ group: API_GROUP, version: API_VERSION, plural: NODE_STATE_PLURAL, name: s.metadata.name })
        .catch(() => undefined);
  }
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("two controller processes on one Lease", () => {
  it("lets only the leader write; after SIGKILL the other takes over within the lease duration, reaches the right state and writes each change once", async () => {
    const a = startController(`${fleet}-a`);
    const first = await eventually("a leader", async () => holder(), 60_000, 200);
    const b = startController(`${fleet}-b`);
    const [leader, standby] = first === a.name ? [a, b] : [b, a];
    await kubectl(["apply", "-f", "-"], {
      input: JSON.stringify({
        apiVersion: `${API_GROUP}/${API_VERSION}`,
        kind: "TcpTuningPolicy",
        metadata: { name: fleet },
        spec: { nodeSelector: { matchLabels: { fleet } }, sysctls: [{ name: FIN, value: "30" }] },
      }),
    });
    await readyAt(fleet, 1);
    // The standby has its caches warm and has written nothing.
    await eventually("the standby synced", async () => ((await standby.count("informer synced")) >= 3 ? true : undefined), 60_000);
    expect((await standby.logs()).filter((l) => l.msg === "applied node state" || l.msg === "updated policy status")).toEqual([]);

    const before = await requestCounts(kc);
    const killedAt = Date.now();
    leader.kill();
    // A change made while nobody leads.
    await kubectl(["patch", `ttp/${fleet}`, "--type=merge", "-p", JSON.stringify({ spec: { sysctls: [{ name: FIN, value: "25" }] } })]);
    await eventually("the standby holds the Lease", async () => ((await holder()) === standby.name ? true : undefined), 60_000, 100);
    const takeoverMs = Date.now() - killedAt;
    const p = await readyAt(fleet, 2);
    process.stderr.write(`controller-leader: takeover ${takeoverMs} ms after SIGKILL (lease duration ${LEASE_DURATION_MS} ms)\n`);
    // Within the lease duration, plus one retry period and the time a loaded machine needs to notice.
    expect(takeoverMs).toBeLessThan(LEASE_DURATION_MS + 5000);
    expect(p.status?.nodes).toEqual({ matched: NODES, applied: NODES, pending: 0, failed: 0, rejected: 0 });
    expect(nodeNames.map((n) => agents.value(n, FIN))).toEqual(nodeNames.map(() => "25"));
    for (const n of nodeNames) {
      const s = nodeStateSchema.parse(await custom.getClusterCustomObject({ group: API_GROUP, version: API_VERSION, plural: NODE_STATE_PLURAL, name: n }));
      expect(s.spec.sysctls).toEqual([{ name: FIN, value: "25", policy: fleet, policyGeneration: 2 }]);
    }
    // Quiet, then count: one apply per node state for the one change, status written once per change of it.
    await eventually(
      "a quiet cluster",
      async () => {
        const t = await requestCounts(kc);
        await new Promise((r) => setTimeout(r, 3000));
        return Object.keys(writesTo(t, await requestCounts(kc), CONTROLLER_WRITTEN_RESOURCES)).length === 0 ? true : undefined;
      },
      60_000,
      0,
    );
    const writes = writesTo(before, await requestCounts(kc), CONTROLLER_WRITTEN_RESOURCES);
    process.stderr.write(`controller-leader: writes for the change: ${JSON.stringify(writes)}\n`);
    expect(writes[`APPLY ${NODE_STATE_PLURAL}`]).toBe(NODES);
    const applies = (await standby.logs()).filter((l) => l.msg === "applied node state").map((l) => l["node"]);
    expect(applies.sort()).toEqual([...nodeNames].sort());
    // SIGTERM: it stops writing, hands the Lease over and exits 0, without being killed.
    const stopAt = Date.now();
    await standby.stop();
    expect({ exit: standby.exited, within10s: Date.now() - stopAt < 10_000 }).toEqual({ exit: "exited with code 0", within10s: true });
    expect(await holder()).toBe("");
  }, 300_000);
});
