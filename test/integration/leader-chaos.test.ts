import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CoordinationV1Api, CoreV1Api, CustomObjectsApi, type KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { API_GROUP, API_VERSION, NODE_STATE_PLURAL, POLICY_PLURAL } from "../../src/api/v1alpha1/group.js";
import { nodeStateSchema, type DesiredSysctl } from "../../src/api/v1alpha1/node-state.js";
import { policySchema, type Policy } from "../../src/api/v1alpha1/policy.js";
import type { RolloutStatus } from "../../src/api/v1alpha1/rollout-status.js";
import { ZONE_LABEL } from "../../src/controller/rollout/wave-plan.js";
import { ChangingNodes, type NodeStateEventLike } from "../support/changing-nodes.js";
import { kubeConfig, kubeconfigPath, kubectl, uniqueName } from "../support/cluster.js";
import { ControllerProcess } from "../support/controller-process.js";
import { installCrds } from "../support/crds.js";
import { eventually } from "../support/eventually.js";
import { seeded } from "../support/seeded.js";
import { SimulatedAgents } from "../support/simulated-agents.js";
import { SOAK_FACTOR } from "../support/soak.js";
import { ResourceWatch } from "../support/watch.js";
import { createLinuxNodes, deletePolicyNow, existingNodeStates, waitForReportedNodeStates } from "../support/controller-fixtures.js";

/**
 * Issue 14, the control plane's own fault: the leader SIGKILLed at random moments of a gradual
 * rollout. Two `tcp-tuning controller` processes share one Lease; the test acts as the kubelet (a
 * process that exits or is killed is replaced at once, so there are always two). 50 Nodes in 3
 * zones with simulated agents; one policy setting two keys, canary 1 node, maxUnavailable 10% (5),
 * whose spec changes (both values, generation 2) once generation 1's third wave is out, so the kills
 * land in two rollouts and across the change.
 * Everything is judged from what the cluster recorded, not from the controller's own word: the
 * node states' watch history (how many change at once, whether a spec ever held some of the
 * policy's keys without the others), its order against the policy's status history (was each node
 * in a wave recorded before it changed), the simulated kernels and the Lease. Figures are in
 * docs/reliability.md.
 */

const SEED = 20261214;
/** 3 in CI; 20 under `npm run soak` (TT_SOAK_FACTOR=10). */
const KILLS = Math.max(3, 2 * SOAK_FACTOR);
const NODES = 50;
const ZONES = ["zone-a", "zone-b", "zone-c"];
const KERNEL = "6.1.0-18-amd64";
const WAVE_LIMIT = 5; // maxUnavailable 10% of 50
const WAVES = 11; // the canary, then 49 nodes in waves of 5
/** The policy's values at generation 1, and at generation 2: the spec changes once generation 1's wave CHANGE_AT is out. */
const VALUES: Readonly<Record<number, Readonly<Record<string, string>>>> = {
  1: { "net.ipv4.tcp_fin_timeout": "30", "net.ipv4.tcp_keepalive_time": "600" },
  2: { "net.ipv4.tcp_fin_timeout": "25", "net.ipv4.tcp_keepalive_time": "900" },
};
const KEYS = Object.keys(VALUES[1] ?? {}).sort();
const CHANGE_AT = 3;
/**
 * Where the rollout is, as one number: generation 1's waves 1 to CHANGE_AT, then generation 2's
 * waves after them. The kills aim at stages 1 to STAGES, which leaves generation 2's last wave
 * free: the rollout cannot be over before the last kill.
 */
const STAGES = CHANGE_AT + WAVES - 1;
const KILLS_PER_STAGE = Math.ceil(KILLS / STAGES);
/** A kill lands at most this long after its stage began (or after the previous takeover). */
const MAX_KILL_DELAY_MS = 3000;
/**
 * Every wave soaks at least as long as the kills aimed at it take (a takeover is the lease
 * duration, 6 s, plus the delays), so they land while the rollout is still going.
 */
const SOAK_SECONDS = 4 + 8 * (KILLS_PER_STAGE - 1);
const LEASE_DURATION_MS = 6000;

let kc: KubeConfig;
let core: CoreV1Api;
let custom: CustomObjectsApi;
let leases: CoordinationV1Api;
let agents: SimulatedAgents;
let dir: string;
const fleet = uniqueName("chaos");
const policyName = fleet;
const nodeNames = Array.from({ length: NODES }, (_, i) => `${fleet}-${String(i).padStart(2, "0")}`);
const zoneOf = new Map(nodeNames.map((n, i) => [n, ZONES[i % ZONES.length] as string]));
const preexistingStates = new Set<string>();

/** Every controller process started, and the two that are meant to be running (the "Deployment"). */
const started: ControllerProcess[] = [];
const replicas: ControllerProcess[] = [];
const killed = new Set<string>();
let supervising = false;
let supervisor: Promise<void> | undefined;

function startController(): ControllerProcess {
  const c = ControllerProcess.start(`${fleet}-c${started.length}`, dir, [
    "--kubeconfig",
    kubeconfigPath(),
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
    "--resync-period",
    "5s",
  ]);
  started.push(c);
  return c;
}

/** As the kubelet of a 2-replica Deployment: a controller that exits or is killed is replaced at once. */
async function supervise(): Promise<void> {
  while (supervising) {
    for (let i = 0; i < replicas.length; i++) if (replicas[i]?.exited !== undefined) replicas[i] = startController();
    await sleep(200);
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function lease(): Promise<{ holder: string; transitions: number } | undefined> {
  try {
    const l = await leases.readNamespacedLease({ name: fleet, namespace: "default" });
    return { holder: l.spec?.holderIdentity ?? "", transitions: l.spec?.leaseTransitions ?? 0 };
  } catch {
    return undefined;
  }
}

const WRITES = new Set(["applied node state", "updated policy status"]);

async function nodeStateWrites(c: ControllerProcess): Promise<number> {
  return c.count("applied node state");
}

/** The running process the Lease names. */
async function liveLeader(): Promise<ControllerProcess | undefined> {
  const l = await lease();
  return replicas.find((c) => c.name === l?.holder && c.exited === undefined);
}

async function getPolicy(): Promise<Policy> {
  return policySchema.parse(await custom.getClusterCustomObject({ group: API_GROUP, version: API_VERSION, plural: POLICY_PLURAL, name: policyName }));
}

const isComplete = (p: Policy): boolean =>
  p.metadata.generation === 2 &&
  p.status?.observedGeneration === p.metadata.generation &&
  p.status?.rollout?.generation === p.metadata.generation &&
  p.status?.rollout?.completedAt !== undefined &&
  p.status?.conditions?.find((c) => c.type === "Ready")?.status === "True";

function stage(p: Policy): number {
  const r = p.status?.rollout;
  if (!r) return 0;
  return r.generation >= 2 ? CHANGE_AT + r.wave : r.wave;
}

/**
 * Which stages the kills aim at: KILLS spread over stages 1 to STAGES, at most KILLS_PER_STAGE on
 * one, the stages drawn from the seed. Each kill comes either a random delay after its stage began
 * (or after the previous takeover), or right after the leader's next node state write (the moment
 * between a wave's node states and its status).
 */
function killPlan(random: () => number): { stage: number; delayMs: number; onWrite: boolean }[] {
  const stages = Array.from({ length: STAGES }, (_, i) => i + 1);
  const slots = Array.from({ length: KILLS_PER_STAGE }, () => stages).flat();
  for (let i = slots.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [slots[i], slots[j]] = [slots[j] as number, slots[i] as number];
  }
  return slots
    .slice(0, KILLS)
    .sort((a, b) => a - b)
    .map((stage) => ({ stage, delayMs: Math.floor(random() * MAX_KILL_DELAY_MS), onWrite: random() < 0.5 }));
}

interface StateEvent extends NodeStateEventLike {
  readonly object: NodeStateEventLike["object"] & { readonly spec?: { readonly nodeName?: string; readonly sysctls?: readonly DesiredSysctl[] } };
}

const entries = (e: StateEvent): readonly DesiredSysctl[] => (e.object.spec?.sysctls ?? []).filter((d) => d.policy === policyName);

/**
 * The policy's entries in one node state spec are all or nothing: every key of the policy, of one
 * policy generation, with that generation's values. Returns what is wrong, or undefined.
 */
function halfApplied(e: StateEvent): string | undefined {
  const mine = entries(e);
  if (mine.length === 0) return undefined;
  const names = mine.map((d) => d.name).sort();
  const generations = new Set(mine.map((d) => d.policyGeneration));
  const values = VALUES[mine[0]?.policyGeneration ?? 0] ?? {};
  const wrongValue = mine.find((d) => values[d.name] !== d.value);
  if (names.join() !== KEYS.join() || generations.size !== 1 || wrongValue)
    return `${e.type} ${e.object.metadata?.name}@${e.object.metadata?.generation}: ${JSON.stringify(mine)}`;
  return undefined;
}

beforeAll(async () => {
  kc = kubeConfig();
  await installCrds(kc);
  core = kc.makeApiClient(CoreV1Api);
  custom = kc.makeApiClient(CustomObjectsApi);
  leases = kc.makeApiClient(CoordinationV1Api);
  for (const name of await existingNodeStates(custom)) preexistingStates.add(name);
  dir = await mkdtemp(join(tmpdir(), "tt-leader-chaos-"));
  await createLinuxNodes(core, nodeNames, (n) => ({ fleet, [ZONE_LABEL]: zoneOf.get(n) as string }), KERNEL);
  // Counter samples every second, written for a while after each apply: the health gate needs them after each soak.
  agents = new SimulatedAgents(kc, { countersIntervalMs: 1000, countersWindowMs: (SOAK_SECONDS + 30) * 1000 });
  await agents.start();
  for (const n of nodeNames) agents.add(n, KERNEL);
  replicas.push(startController(), startController());
  supervising = true;
  supervisor = supervise();
  await waitForReportedNodeStates(custom, new Set(nodeNames), 240_000);
}, 360_000);

afterAll(async () => {
  supervising = false;
  await supervisor;
  for (const c of started) await c.stop();
  await agents?.stop();
  await deletePolicyNow(custom, policyName);
  for (const n of nodeNames) await core.deleteNode({ name: n }).catch(() => undefined);
  const states = (await custom.listClusterCustomObject({ group: API_GROUP, version: API_VERSION, plural: NODE_STATE_PLURAL })) as {
    items: { metadata: { name: string } }[];
  };
  for (const s of states.items)
    if (!preexistingStates.has(s.metadata.name) && zoneOf.has(s.metadata.name))
      await custom
        .deleteClusterCustomObject({ group: API_GROUP, version: API_VERSION, plural: NODE_STATE_PLURAL, name: s.metadata.name })
        .catch(() => undefined);
  if (dir) await rm(dir, { recursive: true, force: true });
}, 180_000);

const sysctls = (generation: number) => Object.entries(VALUES[generation] ?? {}).map(([name, value]) => ({ name, value }));

describe(`a 50-node rollout whose leader is SIGKILLed ${KILLS} times, with a spec change mid-way (seed ${SEED})`, () => {
  it(
    "completes, never has more nodes changing at once than a wave holds (1 during each canary, 5 after), and never gives a node some of the policy's keys without the others",
    async () => {
      const random = seeded(SEED);
      const changeDelayMs = Math.floor(random() * MAX_KILL_DELAY_MS);
      const plan = killPlan(random);
      await eventually("a leader", liveLeader, 120_000, 200);
      const transitionsBefore = (await lease())?.transitions ?? 0;
      const states = await ResourceWatch.open(kc, `/apis/${API_GROUP}/${API_VERSION}/${NODE_STATE_PLURAL}`);
      const statuses = await ResourceWatch.open(kc, `/apis/${API_GROUP}/${API_VERSION}/${POLICY_PLURAL}`, { fieldSelector: `metadata.name=${policyName}` });
      const t0 = Date.now();
      await kubectl(["apply", "-f", "-"], {
        input: JSON.stringify({
          apiVersion: `${API_GROUP}/${API_VERSION}`,
          kind: "TcpTuningPolicy",
          metadata: { name: policyName },
          spec: {
            nodeSelector: { matchLabels: { fleet } },
            sysctls: sysctls(1),
            rollout: { maxUnavailable: "10%", canary: { nodes: 1, soakSeconds: SOAK_SECONDS }, pauseOnFailure: true },
          },
        }),
      });

      // The spec change, beside the kills: once generation 1's wave CHANGE_AT is out, after a delay.
      let changedAtStage: number | undefined;
      const change = (async () => {
        await eventually(
          `generation 1 at wave ${CHANGE_AT}`,
          async () => (stage(await getPolicy()) >= CHANGE_AT ? true : undefined),
          240_000 * SOAK_FACTOR,
          100,
        );
        await sleep(changeDelayMs);
        changedAtStage = stage(await getPolicy());
        await kubectl(["patch", `ttp/${policyName}`, "--type=merge", "-p", JSON.stringify({ spec: { sysctls: sysctls(2) } })]);
      })().then(
        () => undefined,
        (err: unknown) => err,
      );

      // The kills: each waits for its stage (and a live leader), then its delay, then SIGKILL.
      const kills: { leader: string; stage: number; how: string; sinceWriteMs: number; takeoverMs: number; by: string }[] = [];
      let done: Policy | undefined;
      for (const k of plan) {
        const ready = await eventually(
          `stage ${k.stage} with a live leader (kill ${kills.length + 1}/${KILLS})`,
          async () => {
            const p = await getPolicy();
            if (isComplete(p)) return { complete: p };
            const leader = stage(p) >= k.stage ? await liveLeader() : undefined;
            return leader ? { leader } : undefined;
          },
          240_000 * SOAK_FACTOR,
          100,
        );
        if ("complete" in ready) {
          done = ready.complete;
          break;
        }
        let how = `${k.delayMs} ms`;
        if (k.onWrite) {
          const before = await nodeStateWrites(ready.leader);
          const seen = await eventually(
            "the leader's next node state write",
            async () => {
              const now = await liveLeader();
              if (now?.name !== ready.leader.name) return "the Lease moved";
              return (await nodeStateWrites(ready.leader)) > before ? "on a write" : undefined;
            },
            (SOAK_SECONDS + 60) * 1000,
            20,
          ).catch(() => "no write seen");
          how = seen;
        } else {
          await sleep(k.delayMs);
        }
        // Whoever holds the Lease now (it may have moved: a leader that could not renew in time exits).
        const victim = await eventually("a live leader to kill", liveLeader, 120_000, 50);
        const killedAt = Date.now();
        victim.kill();
        killed.add(victim.name);
        const at = stage(await getPolicy());
        const next = await eventually(
          `a takeover after kill ${kills.length + 1}`,
          async () => {
            const l = await liveLeader();
            return l && l.name !== victim.name ? l : undefined;
          },
          120_000,
          100,
        );
        const writes = (await victim.logs()).filter((l) => WRITES.has(l.msg)).map((l) => Date.parse(String(l["time"])));
        const lastWrite = Math.max(-Infinity, ...writes);
        kills.push({ leader: victim.name, stage: at, how, sinceWriteMs: killedAt - lastWrite, takeoverMs: Date.now() - killedAt, by: next.name });
      }
      const changeError = await change;
      if (changeError) throw changeError;
      done ??= await eventually(
        "the rollout of generation 2 complete, Ready=True",
        async () => {
          const p = await getPolicy();
          return isComplete(p) ? p : undefined;
        },
        300_000 * SOAK_FACTOR,
        250,
      );
      const seconds = Math.round((Date.now() - t0) / 1000);
      const transitions = ((await lease())?.transitions ?? 0) - transitionsBefore;
      const final = VALUES[2] ?? {};
      await eventually(
        "every simulated kernel at generation 2's values",
        async () => (nodeNames.every((n) => KEYS.every((key) => agents.value(n, key) === final[key])) ? true : undefined),
        60_000,
      );
      states.stop();
      statuses.stop();

      // From the node states' watch history.
      const history = states.all().filter((e) => zoneOf.has(e.object.metadata?.name ?? "")) as readonly StateEvent[];
      const changing = new ChangingNodes();
      for (const e of history) changing.add(e);
      // Each generation's canary: from the first spec carrying that generation to its agent's report.
      const canaryWindow = (generation: number): { node: string; max: number } => {
        const from = history.findIndex((e) => entries(e).some((d) => d.policyGeneration === generation));
        const node = history[from]?.object.metadata?.name as string;
        const to = history.findIndex(
          (e, i) =>
            i > from &&
            e.object.metadata?.name === node &&
            entries(e).some((d) => d.policyGeneration === generation) &&
            e.object.status?.observedGeneration === e.object.metadata?.generation,
        );
        return { node, max: from < 0 || to < 0 ? -1 : Math.max(...changing.series.slice(from, to + 1)) };
      };
      const canaries = [canaryWindow(1), canaryWindow(2)];
      // Every node changed by the rollout was in a wave the policy's status recorded before the
      // change (both are in etcd: resourceVersions order them), so no node skipped its wave's soak
      // and health gate because a leader died between the two writes.
      const recorded = statuses.all().map((e) => ({
        rv: BigInt(e.object.metadata?.resourceVersion ?? "0"),
        rollout: (e.object as { status?: { rollout?: RolloutStatus } }).status?.rollout,
      }));
      const unrecorded: string[] = [];
      const previous = new Map<string, string>();
      let releases = 0;
      for (const e of history) {
        const name = e.object.metadata?.name as string;
        const mine = entries(e);
        const now = JSON.stringify(mine);
        const before = previous.get(name);
        previous.set(name, now);
        if (before === undefined || before === now || mine.length === 0) continue;
        releases++;
        const rv = BigInt((e.object.metadata as { resourceVersion?: string } | undefined)?.resourceVersion ?? "0");
        const generation = mine[0]?.policyGeneration;
        const inWave = recorded.some(
          (r) => r.rv < rv && r.rollout?.generation === generation && r.rollout?.action === "Apply" && r.rollout?.waveNodes?.includes(name),
        );
        if (!inWave) unrecorded.push(`${name} -> generation ${generation} at resourceVersion ${rv}`);
      }
      const broken = history.map(halfApplied).filter((x) => x !== undefined);
      const generations = new Map<string, Set<number>>();
      const events = new Map<string, number>();
      for (const e of history) {
        const name = e.object.metadata?.name as string;
        events.set(name, (events.get(name) ?? 0) + 1);
        generations.set(name, (generations.get(name) ?? new Set<number>()).add(e.object.metadata?.generation ?? 0));
      }
      const specChanges = nodeNames.map((n) => (generations.get(n)?.size ?? 1) - 1);
      const unexpectedExits = started.filter((c) => c.exited !== undefined && !killed.has(c.name)).map((c) => `${c.name}: ${c.exited}`);
      const figures = {
        seed: SEED,
        kills: kills.length,
        killStages: kills.map((k) => k.stage),
        killMoments: kills.map((k) => k.how),
        // How long before its kill each victim last wrote (a node state or the policy's status); null: never.
        msSinceVictimsLastWrite: kills.map((k) => (Number.isFinite(k.sinceWriteMs) ? k.sinceWriteMs : null)),
        takeoverMs: kills.map((k) => k.takeoverMs),
        leaseTransitions: transitions,
        controllersStarted: started.length,
        unexpectedExits,
        specChangedAtStage: changedAtStage,
        rolloutSeconds: seconds,
        soakSeconds: SOAK_SECONDS,
        wavesOfGeneration2: done.status?.rollout?.waves,
        maxChangingAtOnce: changing.max,
        maxChangingDuringCanaries: canaries.map((c) => c.max),
        specChangesPerNode: { min: Math.min(...specChanges), max: Math.max(...specChanges), total: specChanges.reduce((a, b) => a + b, 0) },
        watchEventsPerNode: { min: Math.min(...events.values()), max: Math.max(...events.values()), total: history.length },
        halfAppliedSpecs: broken.length,
        releases,
        releasesNoRecordedWaveHeld: unrecorded.length,
      };
      process.stderr.write(`leader-chaos figures: ${JSON.stringify(figures)}\n`);
      for (const c of started.filter((x) => x.exited !== undefined && !killed.has(x.name)))
        process.stderr.write(`--- ${c.name} exited on its own (${c.exited}); its last lines ---\n${c.group.lastLines(12)}\n--- end ---\n`);

      expect(kills.length, `kills before the rollout completed (plan ${JSON.stringify(plan)})`).toBe(KILLS);
      // Each kill was followed by a takeover by another process; the Lease counted every change of holder.
      expect(kills.every((k) => k.by !== k.leader)).toBe(true);
      expect(transitions).toBeGreaterThanOrEqual(KILLS);
      expect(broken).toEqual([]);
      expect(unrecorded).toEqual([]);
      expect(canaries.map((c) => c.max)).toEqual([1, 1]);
      expect(changing.max).toBeLessThanOrEqual(WAVE_LIMIT);
      expect(changing.max).toBeGreaterThan(1);
      expect(done.status?.rollout).toMatchObject({ generation: 2, nodes: { total: NODES, done: NODES, inFlight: 0, waiting: 0, failed: 0 } });
      expect(done.status?.rollout?.halted).toBeUndefined();
      expect(done.status?.nodes).toMatchObject({ matched: NODES, applied: NODES, failed: 0 });
      // Every node state ends with both keys at generation 2, and its agent reported it.
      const want = KEYS.map((name) => ({ name, value: final[name], policy: policyName, policyGeneration: 2 }));
      for (const n of nodeNames) {
        const s = nodeStateSchema.parse(await custom.getClusterCustomObject({ group: API_GROUP, version: API_VERSION, plural: NODE_STATE_PLURAL, name: n }));
        expect(s.spec.sysctls, n).toEqual(want);
        expect(s.status?.observedGeneration, n).toBe(s.metadata.generation);
      }
    },
    (420 + 60 * KILLS) * 1000,
  );
});
