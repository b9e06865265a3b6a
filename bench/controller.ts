/**
 * `tsx bench/controller.ts [--full]`: the controller at scale in a real kube-apiserver (test/support's
 * control plane, a new one per node count and run). N realistic Linux Nodes and their agents,
 * simulated (test/support/simulated-agents.ts: each applies its node state's spec and reports it in
 * status, as the controller's waves wait for). The real controller process (compiled, leader election
 * on, default --concurrency 4, as a ServiceAccount bound to cluster-admin, so that its requests can be
 * told apart in the apiserver's audit log) creates the N node states; then one policy with four sysctls
 * selecting every node, no spec.rollout, is created, and the benchmark watches the node states until
 * every spec holds the policy's values. Then nothing changes for a while: the controller's requests at
 * rest. Baseline in the same run, once the controller has stopped: a raw client-node loop, as the same
 * ServiceAccount (same authentication, authorization and API priority level), server-side applying
 * the same N node-state specs (the controller's own body, field manager and client; other values, so
 * that every apply is a real change), with the agents reacting and the benchmark watching alike.
 * Prints a table and writes JSON (and, with several node counts, the SVG of time to converge against
 * node count). A script, not a test.
 */
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { CoreV1Api, CustomObjectsApi, KubeConfig, RbacAuthorizationV1Api, type KubernetesListObject, type KubernetesObject } from "@kubernetes/client-node";
import { API_GROUP, API_GROUP_VERSION, API_VERSION, NODE_STATE_PLURAL, POLICY_KIND, POLICY_PLURAL } from "../src/api/v1alpha1/group.js";
import type { DesiredSysctl } from "../src/api/v1alpha1/node-state.js";
import { nodeStateApplyBody } from "../src/controller/node-state-spec.js";
import { applyCustomObject } from "../src/kube/apply.js";
import { FIELD_MANAGERS, makeApiClient } from "../src/kube/client.js";
import { ResilientInformer } from "../src/kube/informer.js";
import { createLogger } from "../src/log.js";
import { ControlPlane } from "../test/support/control-plane.js";
import { installCrds } from "../test/support/crds.js";
import { serviceAccountKubeconfig } from "../test/support/service-account.js";
import { DEFAULT_KERNEL_VALUES, SimulatedAgents } from "../test/support/simulated-agents.js";
import { auditArgs, countRequests, readAudit, total } from "./support/audit.js";
import { createNodes, pool } from "./support/nodes.js";
import { compileTargets, cpuMs, loadAverage, median, peakRssMiB, rssMiB, spread, startCli, stop, table } from "./support/proc.js";
import { lineChart } from "./support/svg-chart.js";

const { values } = parseArgs({
  options: {
    full: { type: "boolean", default: false },
    nodes: { type: "string" },
    runs: { type: "string" },
    steady: { type: "string" },
    concurrency: { type: "string" },
    json: { type: "string" },
    svg: { type: "string" },
    "cpu-prof": { type: "string" },
    "node-args": { type: "string" },
    "controller-log": { type: "string" },
    "raw-agents": { type: "string" },
    "controller-args": { type: "string" },
  },
});
const FULL = values.full;
const NODE_COUNTS = (values.nodes ?? (FULL ? "500,1000,2500,5000" : "300")).split(",").map(Number);
const RUNS = Number(values.runs ?? "1");
const STEADY_S = Number(values.steady ?? (FULL ? "60" : "20"));
/** The raw loop's concurrencies: the controller's default (--concurrency 4) first, the ratio's reference. */
const RAW_CONCURRENCY = (values.concurrency ?? (FULL ? "4,16" : "4")).split(",").map(Number);
/** Whether the agents keep reacting during the raw loop ("on", as in a cluster) or are stopped first ("off": the bare write rate). */
const RAW_AGENTS = (values["raw-agents"] ?? "on") === "on";
const JSON_OUT = values.json ?? (FULL ? "docs/bench/controller.json" : "bench/results/controller.json");
const SVG_OUT = values.svg ?? (FULL ? "docs/bench/controller-convergence.svg" : "bench/results/controller-convergence.svg");
/** Flags for the controller's node process: --cpu-prof (a profile per run into that folder) and --node-args=A,B. */
const NODE_ARGS = [
  ...(values["cpu-prof"] ? ["--cpu-prof", `--cpu-prof-dir=${values["cpu-prof"]}`] : []),
  ...(values["node-args"] ? values["node-args"].split(",") : []),
];
/** More controller flags, comma-separated, e.g. --controller-args=--leader-elect=false. */
const CONTROLLER_ARGS = values["controller-args"] ? values["controller-args"].split(",") : [];
const ROOT = fileURLToPath(new URL("../", import.meta.url));
const SA = { namespace: "default", name: "tcp-tuning-controller" };
const CONTROLLER_USER = `system:serviceaccount:${SA.namespace}:${SA.name}`;
const POLICY_NAME = "bench-all-nodes";
const SYSCTLS = [
  { name: "net.core.somaxconn", value: "8192" },
  { name: "net.ipv4.tcp_keepalive_time", value: "300" },
  { name: "net.ipv4.tcp_keepalive_intvl", value: "30" },
  { name: "net.ipv4.tcp_max_syn_backlog", value: "8192" },
];
/** The simulated kernels' values: the defaults of test/support plus the policy's other keys. */
const KERNEL_VALUES = { ...DEFAULT_KERNEL_VALUES, "net.ipv4.tcp_keepalive_intvl": "75", "net.ipv4.tcp_max_syn_backlog": "4096" };
const QUIET_MS = 3000;
const PHASE_TIMEOUT_MS = 30 * 60_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface StateSeen {
  readonly uid: string | undefined;
  readonly sysctls: readonly DesiredSysctl[];
}

type Projected = KubernetesObject & { seen: StateSeen };

/**
 * The node states as the benchmark's own informer sees them (a projection: the Node's uid and
 * spec.sysctls). `until(expected, ok)` resolves with the time (epoch ms) at which `expected` node
 * states satisfied `ok`; `quiet(ms)` once no node state has changed for that long.
 */
class NodeStates {
  readonly seen = new Map<string, StateSeen>();
  private lastEventAt = Date.now();
  private readonly informer: ResilientInformer<KubernetesObject, Projected>;
  private check: (() => void) | undefined;

  constructor(kc: KubeConfig) {
    const custom = makeApiClient(kc, CustomObjectsApi, { timeoutMs: 60_000 });
    const changed = (o: Projected, gone = false): void => {
      this.lastEventAt = Date.now();
      if (gone) this.seen.delete(o.metadata?.name ?? "");
      else this.seen.set(o.metadata?.name ?? "", o.seen);
      this.check?.();
    };
    this.informer = new ResilientInformer<KubernetesObject, Projected>({
      kubeConfig: kc,
      path: `/apis/${API_GROUP}/${API_VERSION}/${NODE_STATE_PLURAL}`,
      list: async () =>
        (await custom.listClusterCustomObject({ group: API_GROUP, version: API_VERSION, plural: NODE_STATE_PLURAL })) as KubernetesListObject<KubernetesObject>,
      transform: (o) => {
        const owner = (o.metadata?.ownerReferences ?? []).find((r) => r.kind === "Node");
        const sysctls = (o as { spec?: { sysctls?: DesiredSysctl[] } }).spec?.sysctls ?? [];
        return { metadata: { name: o.metadata?.name ?? "" }, seen: { uid: owner?.uid, sysctls } } as Projected;
      },
      logger: createLogger("bench", { level: "warn" }),
      onAdd: (o) => changed(o),
      onUpdate: (o) => changed(o),
      onDelete: (o) => changed(o, true),
    });
  }

  async start(): Promise<void> {
    this.informer.start();
    await this.informer.waitForSync(60_000);
  }

  stop(): Promise<void> {
    return this.informer.stop();
  }

  until(expected: number, ok: (s: StateSeen) => boolean, what: string): Promise<number> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.check = undefined;
        reject(new Error(`${what}: ${[...this.seen.values()].filter(ok).length} of ${expected} node states after ${PHASE_TIMEOUT_MS / 1000} s`));
      }, PHASE_TIMEOUT_MS);
      // Counted afresh on each change: cheap next to an event's parsing at these sizes.
      this.check = () => {
        let n = 0;
        for (const s of this.seen.values()) if (ok(s)) n++;
        if (n < expected) return;
        this.check = undefined;
        clearTimeout(timer);
        resolve(Date.now());
      };
      this.check();
    });
  }

  async quiet(quietMs: number): Promise<void> {
    this.lastEventAt = Math.max(this.lastEventAt, Date.now() - quietMs / 2);
    while (Date.now() - this.lastEventAt < quietMs) await sleep(quietMs / 4);
  }
}

const holds = (want: readonly { name: string; value: string }[], policy: string) => (s: StateSeen) =>
  want.every((w) => s.sysctls.some((x) => x.name === w.name && x.value === w.value && x.policy === policy));

/** Samples a process's RSS every 200 ms; `stop()` returns the highest sample. */
function rssSampler(pid: number): { stop: () => number } {
  let max = rssMiB(pid);
  const timer = setInterval(() => {
    try {
      max = Math.max(max, rssMiB(pid));
    } catch {
      // exited
    }
  }, 200);
  return {
    stop: () => {
      clearInterval(timer);
      return max;
    },
  };
}

interface RawResult {
  readonly concurrency: number;
  /** Until the last apply returned. */
  readonly appliedS: number;
  /** Until the benchmark's watch saw every node state with the new values: what the controller's figure is. */
  readonly convergeS: number;
  readonly objectsPerS: number;
  readonly requests: Record<string, number>;
}

interface RunResult {
  readonly nodes: number;
  readonly createNodesS: number;
  readonly loadAverage: readonly [number, number];
  readonly controller: {
    readonly startS: number;
    readonly startRequests: Record<string, number>;
    readonly convergeS: number;
    readonly objectsPerS: number;
    readonly convergeRequests: Record<string, number>;
    readonly afterConvergeRequests: Record<string, number>;
    readonly cpuStartS: number;
    readonly cpuConvergeS: number;
    readonly cpuSteadyS: number;
    readonly rssStartedMiB: number;
    readonly rssConvergePeakMiB: number;
    readonly rssPeakMiB: number;
    readonly rssSettledMiB: number;
    readonly steady: { readonly seconds: number; readonly requests: Record<string, number>; readonly perS: number; readonly perSWithoutLeases: number };
  };
  readonly raw: readonly RawResult[];
}

async function runOnce(nodes: number, run: number): Promise<RunResult> {
  const dir = mkdtempSync(join(os.tmpdir(), "tt-bench-controller-"));
  const load0 = loadAverage();
  const plane = await ControlPlane.start({ apiserverArgs: auditArgs(dir) });
  let controller: ReturnType<typeof startCli> | undefined;
  let states: NodeStates | undefined;
  let agents: SimulatedAgents | undefined;
  try {
    const kc = new KubeConfig();
    kc.loadFromFile(plane.kubeconfigPath);
    await installCrds(kc);
    const core = kc.makeApiClient(CoreV1Api);
    // Every node Linux: the synthetic fleet's Windows prototypes become Linux ones.
    const { seconds: createNodesS, nodes: created } = await createNodes(core, {
      count: nodes,
      adapt: (n) =>
        n.operatingSystem === "linux"
          ? n
          : { ...n, operatingSystem: "linux", kernelVersion: "5.15.0-1057-aws", labels: { ...n.labels, "kubernetes.io/os": "linux" } },
    });
    process.stdout.write(`[${nodes} nodes, run ${run + 1}] created the Nodes in ${createNodesS.toFixed(0)} s\n`);

    await core.createNamespacedServiceAccount({ namespace: SA.namespace, body: { metadata: { name: SA.name } } });
    await kc.makeApiClient(RbacAuthorizationV1Api).createClusterRoleBinding({
      body: {
        metadata: { name: "bench-controller" },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "cluster-admin" },
        subjects: [{ kind: "ServiceAccount", namespace: SA.namespace, name: SA.name }],
      },
    });
    const controllerKc = await serviceAccountKubeconfig(kc, SA.namespace, SA.name, dir, { expirationSeconds: 4 * 3600 });
    // The nodes' agents, simulated (no kernel): they apply each spec and report it, as the controller's
    // waves wait for (a wave of at most 500 nodes goes out when the previous one has reported).
    agents = new SimulatedAgents(kc);
    await agents.start();
    for (const n of created) agents.add(n.name, n.kernelVersion ?? "", KERNEL_VALUES);
    const tracked = new NodeStates(kc);
    states = tracked;
    await tracked.start();

    // The controller: creates the N node states (empty specs: no policy yet).
    const logFile = values["controller-log"] ?? join(dir, "controller.log");
    const logFd = openSync(logFile, "a");
    const tStart = Date.now();
    controller = startCli(
      ROOT,
      [
        "controller",
        "--kubeconfig",
        controllerKc,
        "--lease-namespace",
        "default",
        "--identity",
        "bench",
        "--metrics-port",
        "0",
        "--metrics-host",
        "127.0.0.1",
        ...CONTROLLER_ARGS,
      ],
      // Logs into a file, not a pipe: the controller writes them synchronously, and a pipe the benchmark
      // is slow to read would hold it up.
      { stdout: logFd, stderr: logFd, env: { LOG_FORMAT: "json" }, nodeArgs: NODE_ARGS },
    );
    closeSync(logFd);
    const child = controller.child;
    const pid = child.pid as number;
    const exited = new Promise<never>((_, reject) =>
      child.once("exit", (code) => reject(new Error(`the controller exited (${code}): ${readFileSync(logFile, "utf8").slice(-3000)}`))),
    );
    exited.catch(() => undefined);
    const startSampler = rssSampler(pid);
    const tStarted = await Promise.race([states.until(nodes, () => true, "controller start"), exited]);
    await Promise.race([states.quiet(QUIET_MS), exited]);
    const rssStartedPeak = startSampler.stop();
    const cpuStarted = cpuMs(pid);
    const rssStarted = rssMiB(pid);
    process.stdout.write(
      `[${nodes} nodes, run ${run + 1}] controller created ${nodes} node states in ${((tStarted - tStart) / 1000).toFixed(1)} s (RSS ${rssStarted.toFixed(0)} MiB, peak ${rssStartedPeak.toFixed(0)})\n`,
    );

    // One policy selecting every node, no rollout: every node state gets its four keys at once.
    const sampler = rssSampler(pid);
    const custom = kc.makeApiClient(CustomObjectsApi);
    const t0 = Date.now();
    await custom.createClusterCustomObject({
      group: API_GROUP,
      version: API_VERSION,
      plural: POLICY_PLURAL,
      body: { apiVersion: API_GROUP_VERSION, kind: POLICY_KIND, metadata: { name: POLICY_NAME }, spec: { nodeSelector: {}, sysctls: SYSCTLS } },
    });
    const t1 = await Promise.race([states.until(nodes, holds(SYSCTLS, POLICY_NAME), "controller convergence"), exited]);
    const convergeS = (t1 - t0) / 1000;
    const rssConvergePeak = sampler.stop();
    const cpuConverged = cpuMs(pid);
    process.stdout.write(`[${nodes} nodes, run ${run + 1}] controller converged in ${convergeS.toFixed(1)} s\n`);

    // At rest: whatever follows the convergence (the policy's status) settles, then nothing changes.
    await Promise.race([states.quiet(QUIET_MS), exited]);
    await sleep(10_000);
    const tSteady0 = Date.now();
    const cpuSteady0 = cpuMs(pid);
    await Promise.race([sleep(STEADY_S * 1000), exited]);
    const tSteady1 = Date.now();
    const cpuSteady1 = cpuMs(pid);
    const rssSettled = rssMiB(pid);
    const rssPeak = peakRssMiB(pid);
    await stop(child);
    controller = undefined;

    // The baseline: a raw loop applying the same N specs (the controller's body, field manager and client), other values.
    const raw: RawResult[] = [];
    if (!RAW_AGENTS) {
      await agents.stop();
      agents = undefined;
    }
    const rawKc = new KubeConfig();
    rawKc.loadFromFile(controllerKc);
    const api = makeApiClient(rawKc, CustomObjectsApi, { timeoutMs: 30_000 });
    const names = [...states.seen.keys()];
    for (const [round, concurrency] of RAW_CONCURRENCY.entries()) {
      const want = SYSCTLS.map((s) => ({ ...s, value: s.value.replace(/^\d+/, (n) => String(Number(n) + round + 1)) }));
      const spec: DesiredSysctl[] = want.map((s) => ({ ...s, policy: POLICY_NAME, policyGeneration: 1 }));
      const r0 = Date.now();
      const seen = states.until(nodes, holds(want, POLICY_NAME), `raw loop, concurrency ${concurrency}`);
      await pool(names, concurrency, async (name) => {
        const body = nodeStateApplyBody({ name, uid: tracked.seen.get(name)?.uid }, spec);
        await applyCustomObject(api, { group: API_GROUP, version: API_VERSION, plural: NODE_STATE_PLURAL, name }, body as never, {
          fieldManager: FIELD_MANAGERS.controller,
          force: true,
        });
      });
      const applied = Date.now();
      const r1 = await seen;
      await states.quiet(1000);
      raw.push({
        concurrency,
        appliedS: (applied - r0) / 1000,
        convergeS: (r1 - r0) / 1000,
        objectsPerS: nodes / ((r1 - r0) / 1000),
        requests: countRequests(readAudit(dir), CONTROLLER_USER, r0, r1 + 1),
      });
      process.stdout.write(`[${nodes} nodes, run ${run + 1}] raw loop (concurrency ${concurrency}) converged in ${((r1 - r0) / 1000).toFixed(1)} s\n`);
    }

    const audit = readAudit(dir);
    const steadyRequests = countRequests(audit, CONTROLLER_USER, tSteady0, tSteady1);
    const steadySeconds = (tSteady1 - tSteady0) / 1000;
    return {
      nodes,
      createNodesS,
      loadAverage: [load0, loadAverage()],
      controller: {
        startS: (tStarted - tStart) / 1000,
        startRequests: countRequests(audit, CONTROLLER_USER, tStart, tStarted + 1),
        convergeS,
        objectsPerS: nodes / convergeS,
        convergeRequests: countRequests(audit, CONTROLLER_USER, t0, t1 + 1),
        afterConvergeRequests: countRequests(audit, CONTROLLER_USER, t1 + 1, tSteady0),
        cpuStartS: cpuStarted / 1000,
        cpuConvergeS: (cpuConverged - cpuStarted) / 1000,
        cpuSteadyS: (cpuSteady1 - cpuSteady0) / 1000,
        rssStartedMiB: rssStarted,
        rssConvergePeakMiB: rssConvergePeak,
        rssPeakMiB: rssPeak,
        rssSettledMiB: rssSettled,
        steady: {
          seconds: steadySeconds,
          requests: steadyRequests,
          perS: total(steadyRequests) / steadySeconds,
          perSWithoutLeases: total(steadyRequests, (k) => k.endsWith(" leases")) / steadySeconds,
        },
      },
      raw,
    };
  } finally {
    await states?.stop();
    await agents?.stop();
    if (controller) await stop(controller.child);
    await plane.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const fmtCounts = (c: Readonly<Record<string, number>>): string =>
  Object.entries(c)
    .map(([k, n]) => `${k} ${n}`)
    .join(", ") || "none";

async function main(): Promise<void> {
  await compileTargets(ROOT);
  if (values["cpu-prof"]) mkdirSync(values["cpu-prof"], { recursive: true });
  const results: RunResult[] = [];
  const failures: { nodes: number; run: number; error: string }[] = [];
  const write = (): void => {
    mkdirSync(dirname(JSON_OUT), { recursive: true });
    writeFileSync(
      JSON_OUT,
      `${JSON.stringify({ bench: "controller", mode: FULL ? "full" : "quick", at: new Date().toISOString(), node: process.version, cpus: os.cpus().length, sysctls: SYSCTLS, steadySeconds: STEADY_S, rawWithAgents: RAW_AGENTS, controllerNodeArgs: NODE_ARGS, controllerArgs: CONTROLLER_ARGS, runs: results, failures }, null, 2)}\n`,
    );
  };
  // A run that fails (e.g. the controller exits) is recorded and the others go on.
  for (let run = 0; run < RUNS; run++)
    for (const n of NODE_COUNTS) {
      try {
        results.push(await runOnce(n, run));
      } catch (err) {
        process.stdout.write(`[${n} nodes, run ${run + 1}] FAILED: ${(err as Error).message.slice(0, 4000)}\n`);
        failures.push({ nodes: n, run, error: (err as Error).message.slice(0, 4000) });
      }
      write();
    }
  if (results.length === 0) throw new Error("every run failed");
  process.exitCode = failures.length > 0 ? 1 : 0;

  const counts = NODE_COUNTS.filter((n) => results.some((r) => r.nodes === n));
  const by = (n: number) => results.filter((r) => r.nodes === n);
  const ratio = (r: RunResult) => r.controller.objectsPerS / (r.raw[0]?.objectsPerS ?? NaN);
  const best = (r: RunResult) => Math.max(...r.raw.map((x) => x.objectsPerS));
  const rows = counts.map((n) => {
    const rs = by(n);
    return [
      String(n),
      spread(
        rs.map((r) => r.controller.startS),
        1,
      ),
      spread(
        rs.map((r) => r.controller.convergeS),
        1,
      ),
      spread(
        rs.map((r) => r.controller.objectsPerS),
        0,
      ),
      ...RAW_CONCURRENCY.map((_, i) =>
        spread(
          rs.map((r) => r.raw[i]?.objectsPerS ?? NaN),
          0,
        ),
      ),
      spread(rs.map(ratio)),
      spread(rs.map((r) => r.controller.objectsPerS / best(r))),
      spread(rs.map((r) => total(r.controller.convergeRequests) / n)),
      spread(
        rs.map((r) => r.controller.cpuConvergeS),
        1,
      ),
      `${spread(
        rs.map((r) => r.controller.rssPeakMiB),
        0,
      )} / ${spread(
        rs.map((r) => r.controller.rssSettledMiB),
        0,
      )}`,
      `${spread(rs.map((r) => r.controller.steady.perS))} / ${spread(rs.map((r) => r.controller.steady.perSWithoutLeases))}`,
    ];
  });
  const loads = results.flatMap((r) => r.loadAverage);
  const lines = [
    `controller at scale (bench/controller.ts, ${FULL ? "full" : "quick"} mode): one policy (${SYSCTLS.length} sysctls, every node, no rollout); ${RUNS} run(s); raw SSA loop at concurrency ${RAW_CONCURRENCY.join(", ")}; ${STEADY_S} s at rest`,
    `node ${process.version}, ${os.cpus()[0]?.model ?? "?"} x ${os.cpus().length}; load average ${Math.min(...loads)} to ${Math.max(...loads)}`,
    "",
    table(
      [
        "nodes",
        "start s",
        "converge s",
        "ctl obj/s",
        ...RAW_CONCURRENCY.map((c) => `raw(${c}) obj/s`),
        `ratio vs raw(${RAW_CONCURRENCY[0]})`,
        "ratio vs best raw",
        "ctl req/node",
        "ctl CPU s",
        "RSS peak/settled MiB",
        "at rest req/s (no leases)",
      ],
      rows,
    ),
    "",
    ...results.map(
      (r) =>
        `${r.nodes} nodes: converge requests: ${fmtCounts(r.controller.convergeRequests)}; after: ${fmtCounts(r.controller.afterConvergeRequests)}; at rest (${r.controller.steady.seconds.toFixed(0)} s): ${fmtCounts(r.controller.steady.requests)}; raw(${r.raw[0]?.concurrency}): ${fmtCounts(r.raw[0]?.requests ?? {})}`,
    ),
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
  process.stdout.write(`wrote ${JSON_OUT}\n`);
  if (counts.length > 1) {
    const med = (f: (r: RunResult) => number) => counts.map((n) => [n, median(by(n).map(f))] as const);
    const svg = lineChart(
      [
        { name: "controller", points: med((r) => r.controller.convergeS) },
        ...RAW_CONCURRENCY.map((c, i) => ({ name: `raw SSA loop (${c})`, points: med((r) => r.raw[i]?.convergeS ?? NaN) })),
      ],
      { title: "Time until every node state holds the policy", xLabel: "nodes", yLabel: "seconds" },
    );
    mkdirSync(dirname(SVG_OUT), { recursive: true });
    writeFileSync(SVG_OUT, svg);
    process.stdout.write(`wrote ${SVG_OUT}\n`);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
