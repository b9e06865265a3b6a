import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CoreV1Api, CustomObjectsApi, EventsV1Api, type KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { API_GROUP, API_VERSION, NODE_STATE_PLURAL, POLICY_PLURAL } from "../../src/api/v1alpha1/group.js";
import { policySchema, type Policy } from "../../src/api/v1alpha1/policy.js";
import { PAUSED_ANNOTATION, RESUME_ANNOTATION, type RolloutStatus } from "../../src/api/v1alpha1/rollout-status.js";
import { isNotFound } from "../../src/kube/api-error.js";
import { mergePatch } from "../../src/kube/patch.js";
import { planWaves, zoneShare, ZONE_LABEL } from "../../src/controller/rollout/wave-plan.js";
import { ChangingNodes } from "../support/changing-nodes.js";
import { kubeConfig, kubeconfigPath, kubectl, uniqueName } from "../support/cluster.js";
import { ControllerProcess } from "../support/controller-process.js";
import { REPO_ROOT } from "../support/control-plane.js";
import { installCrds } from "../support/crds.js";
import { eventually } from "../support/eventually.js";
import { SimulatedAgents } from "../support/simulated-agents.js";
import { ResourceWatch } from "../support/watch.js";
import { ProcessGroup } from "../support/process-group.js";
import { createLinuxNodes, deletePolicyNow, existingNodeStates, waitForReportedNodeStates } from "../support/controller-fixtures.js";

/**
 * The gradual rollout end to end: the controller process (`tcp-tuning controller`, which uses the
 * gradual gate) on 50 Nodes in 3 zones whose agents are simulated (test/support/simulated-agents.ts,
 * with TCP counters sampled as the agent does). What changes at once is read from the node states'
 * watch events, the waves from the policy's status.rollout.
 */

const FIN = "net.ipv4.tcp_fin_timeout";
const NODES = 50;
const ZONES = ["zone-a", "zone-b", "zone-c"];
const KERNEL = "6.1.0-18-amd64";

let kc: KubeConfig;
let core: CoreV1Api;
let custom: CustomObjectsApi;
let events: EventsV1Api;
let agents: SimulatedAgents;
let controller: ControllerProcess;
let dir: string;
const fleet = uniqueName("waves");
const nodeNames = Array.from({ length: NODES }, (_, i) => `${fleet}-${String(i).padStart(2, "0")}`);
const zoneOf = new Map(nodeNames.map((n, i) => [n, ZONES[i % ZONES.length] as string]));
const policies: string[] = [];

async function applyPolicy(name: string, spec: Record<string, unknown>, annotations: Record<string, string> = {}): Promise<void> {
  if (!policies.includes(name)) policies.push(name);
  await kubectl(["apply", "-f", "-"], {
    input: JSON.stringify({ apiVersion: `${API_GROUP}/${API_VERSION}`, kind: "TcpTuningPolicy", metadata: { name, annotations }, spec }),
  });
}

async function getPolicy(name: string): Promise<Policy | undefined> {
  try {
    return policySchema.parse(await custom.getClusterCustomObject({ group: API_GROUP, version: API_VERSION, plural: POLICY_PLURAL, name }));
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

const condition = (p: Policy, type: string) => p.status?.conditions?.find((c) => c.type === type);

async function policyWhen(name: string, what: string, ok: (p: Policy) => boolean, timeoutMs = 240_000): Promise<Policy> {
  return eventually(
    `${name}: ${what}`,
    async () => {
      const p = await getPolicy(name);
      return p && p.status?.observedGeneration === p.metadata.generation && ok(p) ? p : undefined;
    },
    timeoutMs,
    250,
  );
}

async function policyEvents(name: string, reason: string): Promise<string[]> {
  const list = await events.listNamespacedEvent({ namespace: "default" });
  return list.items.filter((e) => e.regarding?.kind === "TcpTuningPolicy" && e.regarding.name === name && e.reason === reason).map((e) => e.note ?? "");
}

/** Records, from watch events, how many of this fleet's nodes change at once and each wave's nodes. */
class Recorder {
  readonly changing = new ChangingNodes((n) => zoneOf.has(n));
  readonly waves = new Map<number, string[]>();
  private stopped = false;
  private loops: Promise<void>[] = [];

  static async start(policy: string): Promise<Recorder> {
    const r = new Recorder();
    const states = await ResourceWatch.open(kc, `/apis/${API_GROUP}/${API_VERSION}/${NODE_STATE_PLURAL}`);
    const policiesWatch = await ResourceWatch.open(kc, `/apis/${API_GROUP}/${API_VERSION}/${POLICY_PLURAL}`, { fieldSelector: `metadata.name=${policy}` });
    r.loops.push(r.drain(states, (e) => r.changing.add(e as never)));
    r.loops.push(
      r.drain(policiesWatch, (e) => {
        const rollout = (e.object as { status?: { rollout?: RolloutStatus } }).status?.rollout;
        if (rollout && rollout.wave > 0 && rollout.waveNodes) r.waves.set(rollout.wave, rollout.waveNodes);
      }),
    );
    r.stopWatches = () => {
      states.stop();
      policiesWatch.stop();
    };
    return r;
  }

  private stopWatches: () => void = () => undefined;

  private async drain(w: ResourceWatch, on: (e: { type: string; object: unknown }) => void): Promise<void> {
    while (!this.stopped) {
      try {
        on(await w.next(() => true, 1000));
      } catch {
        // no event within a second: look again unless stopped
      }
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.stopWatches();
    await Promise.all(this.loops);
  }
}

beforeAll(async () => {
  kc = kubeConfig();
  await installCrds(kc);
  core = kc.makeApiClient(CoreV1Api);
  custom = kc.makeApiClient(CustomObjectsApi);
  events = kc.makeApiClient(EventsV1Api);
  await existingNodeStates(custom);
  dir = await mkdtemp(join(tmpdir(), "tt-rollout-"));
  await createLinuxNodes(core, nodeNames, (n) => ({ fleet, [ZONE_LABEL]: zoneOf.get(n) as string }), KERNEL);
  agents = new SimulatedAgents(kc, { countersIntervalMs: 1000, countersWindowMs: 15_000 });
  await agents.start();
  for (const n of nodeNames) agents.add(n, KERNEL);
  controller = ControllerProcess.start(`controller-${fleet}`, dir, [
    "--kubeconfig",
    kubeconfigPath(),
    "--lease-namespace",
    "default",
    "--lease-name",
    fleet,
    "--resync-period",
    "5s",
  ]);
  // Every node state exists and its agent has reported before any policy.
  await waitForReportedNodeStates(custom, new Set(nodeNames), 180_000);
}, 300_000);

afterAll(async () => {
  await controller?.stop();
  await agents?.stop();
  for (const p of policies) await deletePolicyNow(custom, p);
  for (const n of nodeNames) await core.deleteNode({ name: n }).catch(() => undefined);
  if (dir) await rm(dir, { recursive: true, force: true });
}, 120_000);

const ROLLOUT = { maxUnavailable: "10%", canary: { nodes: 1, soakSeconds: 2 }, pauseOnFailure: true };

function expectZoneShares(waves: ReadonlyMap<number, string[]>, sizes: (wave: number) => number): void {
  for (const [wave, members] of waves) {
    for (const zone of ZONES) {
      const inZone = members.filter((m) => zoneOf.get(m) === zone).length;
      expect(inZone, `wave ${wave} ${zone}`).toBeLessThanOrEqual(zoneShare(sizes(wave), NODES / ZONES.length + 1, NODES));
    }
  }
}

describe("a gradual rollout on 50 nodes in 3 zones, canary 1, maxUnavailable 10%", () => {
  const name = `${fleet}-fin`;

  it("changes 1 node during the canary and then at most 5 at once, no wave over its zone share, counts converge, Ready=True", async () => {
    const rec = await Recorder.start(name);
    // Created paused, so `rollout status --watch` (slow to start on a loaded machine) sees it from the start.
    await applyPolicy(
      name,
      { nodeSelector: { matchLabels: { fleet } }, sysctls: [{ name: FIN, value: "30" }], rollout: ROLLOUT },
      { [PAUSED_ANNOTATION]: "true" },
    );
    await policyWhen(name, "paused before wave 1", (x) => x.status?.rollout?.paused === true && x.status.rollout.wave === 0);
    const statusRun = new ProcessGroup({
      name: "rollout-status",
      command: process.execPath,
      args: [join(REPO_ROOT, "bin/tcp-tuning.js"), "rollout", "status", `ttp/${name}`, "--watch", "--interval", "500ms", "--kubeconfig", kubeconfigPath()],
      logFile: join(dir, "rollout-status.out"),
    });
    await eventually(
      "rollout status --watch to print",
      async () => ((await readFile(statusRun.logFile, "utf8").catch(() => "")).includes("paused") ? true : undefined),
      60_000,
    );
    const t0 = Date.now();
    await custom.patchClusterCustomObject(
      { group: API_GROUP, version: API_VERSION, plural: POLICY_PLURAL, name, body: { metadata: { annotations: { [PAUSED_ANNOTATION]: null } } } },
      mergePatch(),
    );
    const p = await policyWhen(name, "Ready=True", (x) => condition(x, "Ready")?.status === "True");
    const seconds = Math.round((Date.now() - t0) / 1000);
    await eventually("rollout status --watch to end", async () => (statusRun.exitDescription() ? true : undefined), 60_000);
    await rec.stop();
    const canary = rec.changing.started[0] as string;
    const canaryDone = rec.changing.firstDone.get(canary) as number;
    expect(rec.changing.maxBefore(canaryDone + 1)).toBe(1);
    expect(rec.changing.max).toBe(5);
    expect(rec.waves.get(1)).toEqual([canary]);
    expectZoneShares(rec.waves, (w) => (w === 1 ? 1 : 5));
    expect(new Set([...rec.waves.values()].flat()).size).toBe(NODES);
    expect(p.status?.rollout).toMatchObject({ wave: p.status?.rollout?.waves, nodes: { total: NODES, done: NODES, inFlight: 0, waiting: 0, failed: 0 } });
    expect(p.status?.nodes).toMatchObject({ matched: NODES, applied: NODES, failed: 0 });
    expect(nodeNames.map((n) => agents.value(n, FIN))).toEqual(nodeNames.map(() => "30"));
    // The CLI's plain-line view of the same run, kept for docs/rollout.md.
    const out = await readFile(statusRun.logFile, "utf8");
    expect(statusRun.exitDescription()).toMatch(/code 0/);
    const lines = out.trim().split("\n");
    expect(lines[0]).toBe("paused before wave 1/11 (tcptuning.io/paused=true): 0/50 nodes applied");
    // The view polls: under load its first line after the resume may come after the canary applied.
    expect(lines[1]).toMatch(/^wave 1\/11: [01]\/50 nodes applied, (1 in flight|soaking \d+ s|health gate waiting for counter samples)$/);
    expect(lines).toContain("rollout complete in 11 wave(s): 50/50 nodes applied");
    expect(lines.at(-1)).toMatch(/^Ready: /);
    process.stderr.write(`--- tcp-tuning rollout status --watch (not a terminal), ${NODES} nodes, ${seconds} s ---\n${out}--- end ---\n`);
    process.stderr.write(
      `rollout: ${NODES} nodes in ${p.status?.rollout?.waves} waves, Ready after ${seconds} s; most nodes changing at once ${rec.changing.max}\n`,
    );
  }, 300_000);

  it("rolls the removal out in waves too: a deleted policy's keys leave at most 5 nodes at once, then the policy is gone", async () => {
    const rec = await Recorder.start(name);
    await custom.deleteClusterCustomObject({ group: API_GROUP, version: API_VERSION, plural: POLICY_PLURAL, name });
    const removing = await eventually(
      "the removal in progress",
      async () => {
        const p = await getPolicy(name);
        return p?.status?.rollout?.action === "Remove" ? p : undefined;
      },
      60_000,
      200,
    );
    expect(removing.metadata.finalizers).toContain("tcptuning.io/rollout");
    await eventually("the policy gone", async () => ((await getPolicy(name)) === undefined ? true : undefined), 240_000, 500);
    await rec.stop();
    expect(nodeNames.map((n) => agents.value(n, FIN))).toEqual(nodeNames.map(() => "60"));
    expect(rec.changing.max).toBeLessThanOrEqual(5);
    expect(rec.changing.max).toBeGreaterThan(0);
    expect(rec.waves.size).toBeGreaterThan(5);
  }, 300_000);
});

/** Clean-up: delete, then drop the rollout's finalizer, so the keys leave every node at once. */
async function removeAtOnce(name: string): Promise<void> {
  await custom.deleteClusterCustomObject({ group: API_GROUP, version: API_VERSION, plural: POLICY_PLURAL, name }).catch(() => undefined);
  await custom
    .patchClusterCustomObject({ group: API_GROUP, version: API_VERSION, plural: POLICY_PLURAL, name, body: { metadata: { finalizers: null } } }, mergePatch())
    .catch(() => undefined);
  await eventually("the policy gone", async () => ((await getPolicy(name)) === undefined ? true : undefined), 120_000, 500);
}

/** The first node of wave 2 as the controller will plan it (the plan is deterministic). */
function secondWaveNode(policy: string): string {
  const all = nodeNames.map((n) => ({ name: n, zone: zoneOf.get(n) }));
  return planWaves({ policy, spec: { maxUnavailable: 5, canary: { nodes: 1, soakSeconds: 1 } }, all, waiting: all, nextWave: 1 })[1]?.[0]?.name as string;
}

describe("a node that fails to apply", () => {
  it("with pauseOnFailure stops the rollout after that wave, Degraded names the node; a resume finishes it", async () => {
    const name = `${fleet}-fail`;
    const bad = secondWaveNode(name);
    agents.nodes.get(bad)?.fail.add("net.ipv4.tcp_keepalive_time");
    try {
      await applyPolicy(name, {
        nodeSelector: { matchLabels: { fleet } },
        sysctls: [{ name: "net.ipv4.tcp_keepalive_time", value: "600" }],
        rollout: { maxUnavailable: 5, canary: { nodes: 1, soakSeconds: 1 }, pauseOnFailure: true },
      });
      const halted = await policyWhen(name, "halted", (x) => x.status?.rollout?.halted !== undefined);
      expect(halted.status?.rollout?.halted).toMatchObject({ wave: 2, reason: "ApplyFailed" });
      const degraded = condition(halted, "Degraded");
      expect(degraded).toMatchObject({ status: "True", reason: "RolloutHalted" });
      expect(degraded?.message).toContain(bad);
      expect(
        await eventually(
          "a RolloutHalted Event",
          async () => ((await policyEvents(name, "RolloutHalted")).some((m) => m.includes(bad)) ? true : undefined),
          30_000,
        ),
      ).toBe(true);
      // No further wave: a few resyncs later only the canary and wave 2 carry the key.
      await new Promise((r) => setTimeout(r, 6000));
      const still = await getPolicy(name);
      expect(still?.status?.rollout?.wave).toBe(2);
      expect(nodeNames.filter((n) => agents.value(n, "net.ipv4.tcp_keepalive_time") === "600")).toHaveLength(5);

      await custom.patchClusterCustomObject(
        { group: API_GROUP, version: API_VERSION, plural: POLICY_PLURAL, name, body: { metadata: { annotations: { [RESUME_ANNOTATION]: "1" } } } },
        mergePatch(),
      );
      const done = await policyWhen(name, "the rollout complete", (x) => x.status?.rollout?.completedAt !== undefined);
      expect(done.status?.rollout?.nodes).toMatchObject({ total: NODES, done: NODES - 1, failed: 1 });
      expect(done.status?.rollout?.failedNodes?.map((f) => f.name)).toEqual([bad]);
      expect(condition(done, "Degraded")?.message).toContain(bad);
    } finally {
      agents.nodes.get(bad)?.fail.clear();
      await removeAtOnce(name);
    }
  }, 400_000);

  it("with rollback: true gives the failed wave's nodes their originals back", async () => {
    const name = `${fleet}-rollback`;
    const bad = secondWaveNode(name);
    agents.nodes.get(bad)?.fail.add("net.core.somaxconn");
    try {
      await applyPolicy(name, {
        nodeSelector: { matchLabels: { fleet } },
        sysctls: [{ name: "net.core.somaxconn", value: "8192" }],
        rollout: { maxUnavailable: 5, canary: { nodes: 1, soakSeconds: 1 }, pauseOnFailure: true, rollback: true },
      });
      const halted = await policyWhen(name, "halted and rolled back", (x) => x.status?.rollout?.halted?.rolledBack === true);
      const wave2 = halted.status?.rollout?.waveNodes ?? [];
      expect(wave2).toContain(bad);
      await eventually(
        "the wave's nodes back at their originals",
        async () => (wave2.every((n) => agents.value(n, "net.core.somaxconn") === "4096") ? true : undefined),
        60_000,
      );
      const canary = nodeNames.filter((n) => agents.value(n, "net.core.somaxconn") === "8192");
      expect(canary).toHaveLength(1);
    } finally {
      agents.nodes.get(bad)?.fail.clear();
      await removeAtOnce(name);
    }
  }, 400_000);
});

describe("the health gate with simulated counters", () => {
  it("fails the canary whose ListenOverflows rose to ten times its baseline, and halts", async () => {
    const name = `${fleet}-health`;
    const key = "net.ipv4.tcp_fin_timeout";
    // Nodes with the new value overflow their accept queues at 10x the fleet's 0.5/s baseline.
    agents.counterRates = (node) => ({ listenOverflows: node.values.get(key) === "15" ? 5 : 0.5 });
    try {
      await applyPolicy(name, {
        nodeSelector: { matchLabels: { fleet } },
        sysctls: [{ name: key, value: "15" }],
        rollout: { maxUnavailable: 5, canary: { nodes: 1, soakSeconds: 4 }, pauseOnFailure: true },
      });
      const halted = await policyWhen(name, "halted by the health gate", (x) => x.status?.rollout?.halted !== undefined);
      expect(halted.status?.rollout?.halted).toMatchObject({ wave: 1, reason: "HealthGate" });
      expect(halted.status?.rollout?.failedNodes?.[0]?.message).toMatch(
        /^health gate: listenOverflows [\d.]+\/s after the change \(0\.\d+\/s before, 0\.\d+\/s on unchanged nodes; limit [\d.]+\/s\)/,
      );
      expect(
        await eventually("a HealthGateFailed Event", async () => ((await policyEvents(name, "HealthGateFailed")).length > 0 ? true : undefined), 30_000),
      ).toBe(true);
    } finally {
      agents.counterRates = undefined;
      await removeAtOnce(name);
    }
  }, 400_000);
});
