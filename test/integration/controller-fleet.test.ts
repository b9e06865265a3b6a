import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CoreV1Api, CustomObjectsApi, EventsV1Api, type KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { API_GROUP, API_VERSION, NODE_STATE_PLURAL, POLICY_PLURAL } from "../../src/api/v1alpha1/group.js";
import { nodeStateSchema, type NodeState } from "../../src/api/v1alpha1/node-state.js";
import { policySchema, type Policy } from "../../src/api/v1alpha1/policy.js";
import { isNotFound } from "../../src/kube/api-error.js";
import { mergePatch } from "../../src/kube/patch.js";
import { CONTROLLER_WRITTEN_RESOURCES, requestCounts, writesTo } from "../support/apiserver-metrics.js";
import { kubeConfig, kubectl, uniqueName } from "../support/cluster.js";
import { REPO_ROOT } from "../support/control-plane.js";
import { ControllerProcess } from "../support/controller-process.js";
import { installCrds } from "../support/crds.js";
import { eventually } from "../support/eventually.js";
import { DEFAULT_KERNEL_VALUES, SimulatedAgents } from "../support/simulated-agents.js";
import { createLinuxNode, existingNodeStates } from "../support/controller-fixtures.js";

/**
 * The controller process (`tcp-tuning controller`) on 50 Nodes whose agents are simulated
 * (test/support/simulated-agents.ts acts on node states as the agent does): a policy reaches every
 * node and becomes Ready; an equal-priority conflict, a cross-policy denial, a late node with an old
 * kernel, a label change and a deleted Node; then a resync of the unchanged cluster writes nothing.
 */

const FIN = "net.ipv4.tcp_fin_timeout";
const KEEPALIVE = "net.ipv4.tcp_keepalive_time";
const REUSE = "net.ipv4.tcp_tw_reuse";
const TS = "net.ipv4.tcp_timestamps";
const UNPRIV = "net.ipv4.ip_unprivileged_port_start";
const NODES = 50;
const KERNEL = "6.1.0-18-amd64";

let kc: KubeConfig;
let core: CoreV1Api;
let custom: CustomObjectsApi;
let events: EventsV1Api;
let agents: SimulatedAgents;
let controller: ControllerProcess;
let dir: string;
const fleet = uniqueName("fleet");
const nodeNames = Array.from({ length: NODES }, (_, i) => `${fleet}-${String(i).padStart(2, "0")}`);
const late = `${fleet}-late`;
const tierOf = (i: number): string => (i % 2 === 0 ? "a" : "b");
const preexistingStates = new Set<string>();
const policies: string[] = [];

async function applyPolicy(name: string, spec: Record<string, unknown>): Promise<void> {
  policies.push(name);
  await kubectl(["apply", "-f", "-"], {
    input: JSON.stringify({ apiVersion: `${API_GROUP}/${API_VERSION}`, kind: "TcpTuningPolicy", metadata: { name }, spec }),
  });
}

async function getPolicy(name: string): Promise<Policy> {
  return policySchema.parse(await custom.getClusterCustomObject({ group: API_GROUP, version: API_VERSION, plural: POLICY_PLURAL, name }));
}

async function getState(name: string): Promise<NodeState | undefined> {
  try {
    return nodeStateSchema.parse(await custom.getClusterCustomObject({ group: API_GROUP, version: API_VERSION, plural: NODE_STATE_PLURAL, name }));
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

const condition = (p: Policy, type: string) => p.status?.conditions?.find((c) => c.type === type);

/** Waits until the policy's status, at its current generation, satisfies `ok`. */
async function policyWhen(name: string, what: string, ok: (p: Policy) => boolean, timeoutMs = 120_000): Promise<Policy> {
  return eventually(
    `${name}: ${what}`,
    async () => {
      const p = await getPolicy(name);
      if (p.status?.observedGeneration === p.metadata.generation && ok(p)) return p;
      throw new Error(
        `status is ${JSON.stringify({ generation: p.metadata.generation, observedGeneration: p.status?.observedGeneration, nodes: p.status?.nodes, conditions: p.status?.conditions?.map((c) => `${c.type}=${c.status} ${c.reason}`) })}`,
      );
    },
    timeoutMs,
    250,
  );
}

async function policyEvents(name: string, reason: string): Promise<string[]> {
  const list = await events.listNamespacedEvent({ namespace: "default" });
  return list.items.filter((e) => e.regarding?.kind === "TcpTuningPolicy" && e.regarding.name === name && e.reason === reason).map((e) => e.note ?? "");
}

beforeAll(async () => {
  kc = kubeConfig();
  await installCrds(kc);
  core = kc.makeApiClient(CoreV1Api);
  custom = kc.makeApiClient(CustomObjectsApi);
  events = kc.makeApiClient(EventsV1Api);
  for (const name of await existingNodeStates(custom)) preexistingStates.add(name);
  dir = await mkdtemp(join(tmpdir(), "tt-controller-"));
  for (let i = 0; i < NODES; i += 10) {
    await Promise.all(nodeNames.slice(i, i + 10).map((n, j) => createLinuxNode(core, n, { fleet, tier: tierOf(i + j) }, KERNEL)));
  }
  agents = new SimulatedAgents(kc);
  await agents.start();
  for (const n of nodeNames) agents.add(n, KERNEL);
  controller = ControllerProcess.start(`controller-${fleet}`, dir, [
    "--kubeconfig",
    process.env["TCP_TUNING_KUBECONFIG"] ?? "",
    "--lease-namespace",
    "default",
    "--lease-name",
    fleet,
    "--resync-period",
    "3s",
    "--log-level",
    "debug",
  ]);
});

afterAll(async () => {
  await controller?.stop();
  await agents?.stop();
  for (const p of policies)
    await custom.deleteClusterCustomObject({ group: API_GROUP, version: API_VERSION, plural: POLICY_PLURAL, name: p }).catch(() => undefined);
  for (const n of [...nodeNames, late]) await core.deleteNode({ name: n }).catch(() => undefined);
  // Node states this controller made for other test files' Nodes go too.
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

describe("the controller on 50 nodes with simulated agents", () => {
  const base = `${fleet}-base`;

  it("creates one node state per Node, owned by the Node, and brings a policy to every node: Ready=True", async () => {
    const t0 = Date.now();
    await applyPolicy(base, {
      nodeSelector: { matchLabels: { fleet } },
      sysctls: [
        { name: FIN, value: "30" },
        { name: UNPRIV, value: "1024" },
      ],
    });
    const p = await policyWhen(base, "Ready=True on 50 nodes", (x) => condition(x, "Ready")?.status === "True" && x.status?.nodes?.applied === NODES);
    process.stderr.write(`controller-fleet: ${NODES} nodes converged (Ready=True) ${Date.now() - t0} ms after kubectl apply\n`);
    expect(p.status?.nodes).toEqual({ matched: NODES, applied: NODES, pending: 0, failed: 0, rejected: 0 });
    expect(condition(p, "Accepted")).toMatchObject({ status: "True", observedGeneration: p.metadata.generation });
    expect(condition(p, "Degraded")).toMatchObject({ status: "False" });
    expect(nodeNames.map((n) => agents.value(n, FIN))).toEqual(nodeNames.map(() => "30"));
    const state = await getState(nodeNames[0] as string);
    const nodeUid = (await core.readNode({ name: nodeNames[0] as string })).metadata?.uid;
    expect(state?.metadata["ownerReferences"]).toEqual([
      { apiVersion: "v1", kind: "Node", name: nodeNames[0], uid: nodeUid, controller: false, blockOwnerDeletion: false },
    ]);
    expect(state?.spec.sysctls).toEqual([
      { name: UNPRIV, value: "1024", policy: base, policyGeneration: 1 },
      { name: FIN, value: "30", policy: base, policyGeneration: 1 },
    ]);
    // kubectl wait works on it, as on any kstatus-compatible resource.
    await kubectl(["wait", "--for=condition=Ready", `ttp/${base}`, "--timeout=30s"]);
  }, 240_000);

  it("applies neither value of an equal-priority conflict, and reports it on both policies with Events naming node and key", async () => {
    const [a, b] = [`${fleet}-team-a`, `${fleet}-team-b`];
    await applyPolicy(a, { nodeSelector: { matchLabels: { fleet } }, sysctls: [{ name: KEEPALIVE, value: "600" }] });
    await applyPolicy(b, { nodeSelector: { matchLabels: { fleet } }, sysctls: [{ name: KEEPALIVE, value: "900" }] });
    for (const [me, other] of [
      [a, b],
      [b, a],
    ] as const) {
      const p = await policyWhen(me, "Degraded=Conflict", (x) => condition(x, "Degraded")?.reason === "Conflict" && x.status?.nodes?.failed === NODES);
      expect(condition(p, "Ready")).toMatchObject({ status: "False", reason: "Conflict" });
      expect(p.status?.withheld?.[0]).toMatchObject({ sysctl: KEEPALIVE, reason: "Conflict", policies: [other] });
      const notes = await eventually(
        `${me}: Conflict Events`,
        async () => {
          const n = await policyEvents(me, "Conflict");
          return n.some((x) => x.includes(`on ${NODES} node(s)`)) ? n : undefined;
        },
        60_000,
        500,
      );
      // One Event for the situation, naming the nodes (the first ten), a node and the key.
      expect(notes.find((n) => n.includes(`on ${NODES} node(s)`))).toMatch(new RegExp(`${nodeNames[0]}.*${KEEPALIVE}`));
    }
    // team-a alone may have reached some nodes before team-b existed: those are restored.
    await eventually(
      "keepalive at its original everywhere",
      async () => (nodeNames.every((n) => agents.value(n, KEEPALIVE) === "7200") ? true : undefined),
      60_000,
    );
    // Resolving it (one policy higher) applies the winner.
    await kubectl(["patch", `ttp/${b}`, "--type=merge", "-p", JSON.stringify({ spec: { priority: 1 } })]);
    await policyWhen(b, "Ready after the priority change", (x) => condition(x, "Ready")?.status === "True" && x.status?.nodes?.applied === NODES);
    await policyWhen(a, "applied: overridden everywhere, nothing of its own failed", (x) => condition(x, "Degraded")?.status === "False");
    expect(nodeNames.map((n) => agents.value(n, KEEPALIVE))).toEqual(nodeNames.map(() => "900"));
  }, 240_000);

  it("withholds the lower-priority key of a combination the engine denies, on the nodes where both apply, and both policies say why", async () => {
    const [ts, reuse] = [`${fleet}-no-ts`, `${fleet}-reuse`];
    await applyPolicy(ts, { priority: 10, nodeSelector: { matchLabels: { fleet, tier: "a" } }, sysctls: [{ name: TS, value: "0" }] });
    await applyPolicy(reuse, { nodeSelector: { matchLabels: { fleet } }, sysctls: [{ name: REUSE, value: "1" }] });
    const r = await policyWhen(
      reuse,
      "CombinationDenied on tier a",
      (x) => condition(x, "Degraded")?.reason === "CombinationDenied" && x.status?.nodes?.applied === NODES / 2 && x.status.nodes.failed === NODES / 2,
    );
    expect(r.status?.withheld?.[0]).toMatchObject({ sysctl: REUSE, reason: "CombinationDenied", policies: [ts] });
    const t = await policyWhen(ts, "applied on tier a, telling why", (x) => condition(x, "Ready")?.status === "True" && x.status?.nodes?.applied === NODES / 2);
    expect(condition(t, "Degraded")).toMatchObject({ status: "True", reason: "CombinationDenied" });
    expect(t.status?.withheld?.[0]).toMatchObject({ sysctl: TS, policies: [reuse] });
    expect(nodeNames.map((n) => `${agents.value(n, TS)}/${agents.value(n, REUSE)}`)).toEqual(nodeNames.map((_, i) => (tierOf(i) === "a" ? "0/2" : "1/1")));
    expect((await policyEvents(reuse, "CombinationDenied")).length).toBeGreaterThan(0);
  }, 240_000);

  it("rejects a late-joining node with an old kernel, with an Event naming node and reason, while the others stay applied", async () => {
    await createLinuxNode(core, late, { fleet, tier: "b" }, "4.9.0-19-amd64");
    // A 4.9 kernel has no ip_unprivileged_port_start (4.11): its agent's probe does not list it.
    const { [UNPRIV]: _absent, ...oldKernel } = DEFAULT_KERNEL_VALUES;
    agents.add(late, "4.9.0-19-amd64", oldKernel);
    const p = await policyWhen(base, "the late node rejected", (x) => x.status?.nodes?.rejected === 1);
    expect(p.status?.nodes).toEqual({ matched: NODES + 1, applied: NODES, pending: 0, failed: 0, rejected: 1 });
    expect(condition(p, "Ready")).toMatchObject({ status: "True" });
    expect(condition(p, "Degraded")).toMatchObject({ status: "True", reason: "NodesRejected" });
    expect(condition(p, "Degraded")?.message).toContain(late);
    const notes = await eventually("a Rejected Event", async () => (await policyEvents(base, "Rejected")).find((n) => n.includes(late)));
    expect(notes).toContain(UNPRIV);
    // Nothing of the rejected policy on that node; the other policies are there.
    const state = await eventually("the late node's state", async () => getState(late));
    expect(state.spec.sysctls?.map((s) => s.policy)).not.toContain(base);
    expect(agents.value(late, FIN)).toBe("60");
  }, 240_000);

  it("moves keys on and off a node when its labels change", async () => {
    const node = nodeNames[0] as string; // tier a: timestamps off, reuse withheld
    expect(`${agents.value(node, TS)}/${agents.value(node, REUSE)}`).toBe("0/2");
    await core.patchNode({ name: node, body: { metadata: { labels: { tier: "b" } } } }, mergePatch());
    await eventually(
      "timestamps restored and reuse applied on the relabelled node",
      async () => (agents.value(node, TS) === "1" && agents.value(node, REUSE) === "1" ? true : undefined),
      60_000,
    );
    const state = await getState(node);
    expect(state?.spec.sysctls?.map((s) => s.name)).not.toContain(TS);
    await core.patchNode({ name: node, body: { metadata: { labels: { tier: "a" } } } }, mergePatch());
    await eventually("timestamps off again", async () => (agents.value(node, TS) === "0" && agents.value(node, REUSE) === "2" ? true : undefined), 60_000);
  }, 240_000);

  it("lets a deleted Node take its node state with it (garbage collector)", async () => {
    const node = nodeNames[NODES - 1] as string;
    expect(await getState(node)).toBeDefined();
    await core.deleteNode({ name: node });
    await eventually("the node state garbage-collected", async () => ((await getState(node)) === undefined ? true : undefined), 90_000, 500);
    await policyWhen(base, "49 Linux nodes of the fleet applied", (x) => x.status?.nodes?.matched === NODES && x.status.nodes.applied === NODES - 1);
  }, 240_000);

  it("plans a DryRun policy per node in its status, writes no desired state for it, and tcp-tuning plan prints the plan", async () => {
    const dry = `${fleet}-dry`;
    await applyPolicy(dry, {
      mode: "DryRun",
      priority: 5,
      nodeSelector: { matchLabels: { fleet } },
      sysctls: [
        { name: FIN, value: "45" },
        { name: KEEPALIVE, value: "300" },
      ],
    });
    const p = await policyWhen(dry, "planned", (x) => condition(x, "Ready")?.reason === "Planned" && x.status?.plan !== undefined);
    // 49 fleet nodes and the late one; with priority 5 it would win both keys everywhere.
    expect(p.status?.plan).toMatchObject({ nodes: NODES });
    expect(p.status?.plan?.items.length).toBeLessThanOrEqual(50);
    expect(p.status?.plan).toMatchObject({ changes: NODES * 2, blocked: 0 });
    expect(p.status?.plan?.items[0]).toMatchObject({ action: "Change", current: "30", desired: "45", sysctl: FIN });
    const states = await Promise.all(nodeNames.slice(0, 5).map((n) => getState(n)));
    expect(states.flatMap((st) => st?.spec.sysctls ?? []).filter((x) => x.policy === dry)).toEqual([]);
    const out = await new Promise<string>((resolve, reject) => {
      execFile(
        process.execPath,
        [join(REPO_ROOT, "bin", "tcp-tuning.js"), "plan", `ttp/${dry}`, "--kubeconfig", process.env["TCP_TUNING_KUBECONFIG"] ?? ""],
        { timeout: 120_000, maxBuffer: 8 << 20 },
        (err, stdout, stderr) => (err ? reject(new Error(stderr || err.message)) : resolve(stdout)),
      );
    });
    process.stderr.write(`controller-fleet: tcp-tuning plan ttp/${dry}\n${out.split("\n").slice(0, 12).join("\n")}\n`);
    expect(out).toMatch(/^NODE\s+SYSCTL\s+CURRENT\s+DESIRED\s+ACTION\s+REASON$/m);
    expect(out.split("\n").filter((l) => l.startsWith(`${fleet}-`)).length).toBe(NODES * 2);
    await custom.deleteClusterCustomObject({ group: API_GROUP, version: API_VERSION, plural: POLICY_PLURAL, name: dry });
    policies.splice(policies.indexOf(dry), 1);
  }, 240_000);

  it("writes nothing at all on a resync of the unchanged cluster", async () => {
    // Quiet first: every policy at its generation and no write in flight.
    await eventually(
      "a quiet cluster (no write for 4 s)",
      async () => {
        const before = await requestCounts(kc);
        await new Promise((r) => setTimeout(r, 4000));
        const w = writesTo(before, await requestCounts(kc), CONTROLLER_WRITTEN_RESOURCES);
        return Object.keys(w).length === 0 ? true : undefined;
      },
      120_000,
      0,
    );
    const before = await requestCounts(kc);
    const passes = await controller.count("computed desired state");
    await eventually("three resyncs", async () => ((await controller.count("computed desired state")) >= passes + 3 ? true : undefined), 60_000, 500);
    const writes = writesTo(before, await requestCounts(kc), CONTROLLER_WRITTEN_RESOURCES);
    process.stderr.write(`controller-fleet: writes during 3 resyncs of ${NODES} nodes: ${JSON.stringify(writes)}\n`);
    expect(writes).toEqual({});
    // What kubectl shows of it (docs/controller.md quotes a run of this).
    process.stderr.write(`controller-fleet: kubectl get ttp\n${(await kubectl(["get", "ttp", ...policies])).stdout}\n`);
    process.stderr.write(`controller-fleet: kubectl describe ttp ${base}\n${(await kubectl(["describe", "ttp", base])).stdout}\n`);
    process.stderr.write(`controller-fleet: kubectl describe ttp ${fleet}-reuse\n${(await kubectl(["describe", "ttp", `${fleet}-reuse`])).stdout}\n`);
  }, 240_000);
});
