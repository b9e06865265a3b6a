import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CoreV1Api, CustomObjectsApi, KubeConfig, type V1Node } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { API_GROUP_VERSION, NODE_STATE_PLURAL, POLICY_PLURAL } from "../../src/api/v1alpha1/group.js";
import { policySchema } from "../../src/api/v1alpha1/policy.js";
import { makeApiClient } from "../../src/kube/client.js";
import { ResilientInformer } from "../../src/kube/informer.js";
import { mergePatch } from "../../src/kube/patch.js";
import { createLogger } from "../../src/log.js";
import { requestCounts, type RequestCounts } from "../support/apiserver-metrics.js";
import { ControlPlane } from "../support/control-plane.js";
import { ControllerProcess } from "../support/controller-process.js";
import { installCrds } from "../support/crds.js";
import { eventually } from "../support/eventually.js";
import type { ProcessGroup } from "../support/process-group.js";
import { SimulatedAgents, DEFAULT_KERNEL_VALUES } from "../support/simulated-agents.js";
import { SOAK_FACTOR } from "../support/soak.js";
import { ThrottlingProxy } from "../support/throttling-proxy.js";
import { POLICY_REF, admission, startWebhookProcess } from "./webhook-harness.js";

// A watch that stays idle (issue 14). The project's informers sit on a cluster where nothing changes
// while the apiserver ends every watch after 5 to 10 s (--min-request-timeout=5: each watch gets a
// random timeout between it and twice it): the controller process (policies, nodes, node states), the
// webhook process (nodes, node states) and a ResilientInformer in this process (nodes). The requests
// are counted by the apiserver itself (apiserver_request_total): a watch that ended normally must be
// resumed from its resourceVersion (no LIST), at about the server's pace, never in a tight loop; and
// a change made at the end must still reach every informer. Then kube-apiserver is restarted: an
// informer whose resourceVersion is behind the new watch cache is refused (410 Gone) and LISTs once,
// only once; none LISTs more than once.

const SERVER_TIMEOUT_S = 5;
/** How long the cluster stays idle: 60 s in CI, 5 minutes under `npm run soak`. */
const IDLE_MS = (SOAK_FACTOR >= 5 ? 300 : 60) * 1000;
/** How many of the project's informers watch each resource here. */
const INFORMERS: Readonly<Record<string, number>> = { nodes: 3, [POLICY_PLURAL]: 1, [NODE_STATE_PLURAL]: 2 };
const RESOURCES = Object.keys(INFORMERS);
/** A node kernel without net.ipv4.tcp_tw_reuse_delay (added in 6.13): a policy setting it is refused there. */
const OLD_KERNEL = "5.14.0-427.37.1.el9_4.x86_64";
const NODE = "idle-a";
const END_LABEL = "idle-end";
const log = createLogger("idle-watch-test", { level: "warn" });

let plane: ControlPlane;
let kc: KubeConfig;
let dir: string;
let controller: ControllerProcess;
let webhook: ProcessGroup;
let informer: ResilientInformer<V1Node>;
let agents: SimulatedAgents | undefined;

/** A policy selecting the end label's nodes with a key the old kernel lacks: refused while such a node lacks a probe saying otherwise. */
const delayPolicy = () => ({
  apiVersion: API_GROUP_VERSION,
  kind: "TcpTuningPolicy",
  metadata: { name: `delay-${Math.random().toString(36).slice(2, 8)}` },
  spec: { nodeSelector: { matchLabels: { [END_LABEL]: "yes" } }, sysctls: [{ name: "net.ipv4.tcp_tw_reuse_delay", value: "1000" }] },
});

/** Requests counted by the apiserver (snapshots by code) between two snapshots: of `verb` on `resource`, answered with `code` or any. */
function delta(before: RequestCounts, after: RequestCounts, verb: string, resource: string, code?: string): number {
  let n = 0;
  for (const [key, value] of after) {
    const [v, r, c] = key.split(" ");
    if (v === verb && r === resource && (code === undefined || c === code)) n += value - (before.get(key) ?? 0);
  }
  return n;
}

function byResource(before: RequestCounts, after: RequestCounts, verb: string, code?: string): Record<string, number> {
  return Object.fromEntries(RESOURCES.map((r) => [r, delta(before, after, verb, r, code)]));
}

/** The apiserver's request counters, by code. */
const counts = (): Promise<RequestCounts> => requestCounts(kc, true);

/** Times `check` until it returns something, from now; fails with `what` after 90 s. */
async function seenWithin(what: string, check: () => Promise<boolean> | boolean): Promise<number> {
  const t0 = performance.now();
  await eventually(what, async () => ((await check()) ? true : undefined), 90_000, 100);
  return Math.round(performance.now() - t0);
}

beforeAll(async () => {
  plane = await ControlPlane.start({ apiserverArgs: [`--min-request-timeout=${SERVER_TIMEOUT_S}`] });
  kc = new KubeConfig();
  kc.loadFromFile(plane.kubeconfigPath);
  await installCrds(kc);
  dir = await mkdtemp(join(tmpdir(), "tt-idle-"));
  const core = kc.makeApiClient(CoreV1Api);
  for (const [name, kernelVersion] of [
    [NODE, OLD_KERNEL],
    ["idle-b", "6.1.0-18-amd64"],
  ] as const) {
    await core.createNode({ body: { metadata: { name, labels: { "kubernetes.io/os": "linux" } } } });
    await core.patchNodeStatus({ name, body: { status: { nodeInfo: { kernelVersion, operatingSystem: "linux" } } } }, mergePatch());
  }
  controller = ControllerProcess.start("idle-controller", dir, ["--kubeconfig", plane.kubeconfigPath, "--leader-elect", "false"]);
  webhook = await startWebhookProcess(kc, plane.kubeconfigPath, dir, "idle-webhook");
  const nodes = makeApiClient(kc, CoreV1Api);
  informer = new ResilientInformer<V1Node>({ kubeConfig: kc, path: "/api/v1/nodes", list: () => nodes.listNode(), logger: log });
  informer.start();
  await informer.waitForSync(60_000);
  await eventually("the controller's three informers synced", async () => ((await controller.count("informer synced")) >= 3 ? true : undefined), 120_000, 250);
  // The controller gives every node a node state at its first pass: made before the idle time starts.
  const custom = kc.makeApiClient(CustomObjectsApi);
  await eventually(
    "a node state for each node",
    async () => {
      const states = (await custom.listClusterCustomObject({ ...POLICY_REF, plural: NODE_STATE_PLURAL })) as { items: unknown[] };
      return states.items.length === 2 ? true : undefined;
    },
    60_000,
    250,
  );
  // Before the change at the end, the delay policy selects no node: nothing to refuse.
  expect(await admission(kc, delayPolicy())).toBe("allowed");
}, 300_000);

afterAll(async () => {
  await agents?.stop();
  await informer?.stop();
  await controller?.stop();
  await webhook?.stop();
  await plane?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe(`informers on a cluster idle for ${IDLE_MS / 1000} s while the apiserver ends each watch after ${SERVER_TIMEOUT_S} to ${2 * SERVER_TIMEOUT_S} s`, () => {
  it(
    "resume every ended watch from its resourceVersion (no LIST), at the server's pace (no storm), and still see a change made at the end",
    async () => {
      const before = await counts();
      const own = { lists: informer.lists, watches: informer.watches, errors: informer.errors };
      const t0 = performance.now();
      // Sampled every 15 s: the most requests any resource got in one sample, per minute.
      let last = before;
      let peakPerMinute = 0;
      while (performance.now() - t0 < IDLE_MS) {
        const started = performance.now();
        await new Promise((r) => setTimeout(r, Math.min(15_000, IDLE_MS - (started - t0))));
        const now = await counts();
        const minutes = (performance.now() - started) / 60_000;
        for (const r of RESOURCES) {
          const all = delta(last, now, "LIST", r) + delta(last, now, "WATCH", r);
          peakPerMinute = Math.max(peakPerMinute, all / minutes);
        }
        last = now;
      }
      const idleS = (performance.now() - t0) / 1000;
      const after = await counts();
      const lists = byResource(before, after, "LIST");
      const byCode = Object.fromEntries(
        [...after].filter(([k, v]) => RESOURCES.includes(k.split(" ")[1] ?? "") && v - (before.get(k) ?? 0) > 0).map(([k, v]) => [k, v - (before.get(k) ?? 0)]),
      );
      const watches = byResource(before, after, "WATCH");
      const report = {
        idleS: Math.round(idleS),
        lists,
        watches,
        byCode,
        watchesPerInformerPerMinute: Object.fromEntries(RESOURCES.map((r) => [r, Math.round((watches[r]! / INFORMERS[r]! / (idleS / 60)) * 10) / 10])),
        peakRequestsPerResourcePerMinute: Math.round(peakPerMinute),
        ownInformer: {
          watches: informer.watches - own.watches,
          lists: informer.lists - own.lists,
          errors: informer.errors - own.errors,
          expired: informer.expired,
          longestUnwatchedMs: informer.longestUnwatchedMs,
        },
      };
      process.stderr.write(`idle-watch: ${JSON.stringify(report)}\n`);

      // No LIST: every watch the server ended was resumed from its resourceVersion.
      expect(lists).toEqual(Object.fromEntries(RESOURCES.map((r) => [r, 0])));
      expect(report.ownInformer.lists).toBe(0);
      expect(report.ownInformer.errors).toBe(0);
      // At the server's pace: a watch lasts 5 to 10 s, so each informer ends between idle/11 - 1 and
      // idle/5 + 1 of them (a watch counts when it ends); the reconnect itself adds at most a second.
      for (const r of RESOURCES) {
        const n = INFORMERS[r]!;
        expect(watches[r], `WATCH ${r}`).toBeGreaterThanOrEqual(n * (Math.floor(idleS / (2 * SERVER_TIMEOUT_S + 1)) - 1));
        expect(watches[r], `WATCH ${r}`).toBeLessThanOrEqual(n * (Math.ceil(idleS / SERVER_TIMEOUT_S) + 1));
      }
      expect(report.ownInformer.watches).toBeGreaterThanOrEqual(Math.floor(idleS / (2 * SERVER_TIMEOUT_S + 1)) - 1);
      // Each ended watch is followed by the next at once: never seconds without a watch (client-node's
      // ListWatch waits 1, 2, 4 ... 30 s before reconnecting after a watch that ended without an event;
      // the bookmark the apiserver sends before it ends a watch counts as one).
      expect(report.ownInformer.longestUnwatchedMs).toBeLessThan(4000);
      // No storm: three informers on nodes, each at most one watch per 5 s, is 36 a minute; a tight
      // reconnect loop would be hundreds.
      expect(peakPerMinute).toBeLessThanOrEqual(3 * (60 / SERVER_TIMEOUT_S) + 6);

      // The change at the end: the node joins the delay policy's selector, then a policy selects it
      // and a (simulated) agent reports a probe that has the key. Each informer shows it.
      const core = kc.makeApiClient(CoreV1Api);
      const custom = kc.makeApiClient(CustomObjectsApi);
      await core.patchNode({ name: NODE, body: { metadata: { labels: { [END_LABEL]: "yes" } } } }, mergePatch());
      const seen: Record<string, number> = {};
      seen["own informer (nodes)"] = await seenWithin(
        "the label in this process's informer",
        () => informer.get(NODE)?.metadata?.labels?.[END_LABEL] === "yes",
      );
      seen["webhook (nodes)"] = await seenWithin("the webhook refusing the delay policy on the labelled node", async () =>
        new RegExp(`^403 .*does not exist on node ${NODE}`).test(await admission(kc, delayPolicy())),
      );
      agents = new SimulatedAgents(kc);
      await agents.start();
      agents.add(NODE, OLD_KERNEL, { ...DEFAULT_KERNEL_VALUES, "net.ipv4.tcp_tw_reuse_delay": "1000" });
      await custom.createClusterCustomObject({
        ...POLICY_REF,
        body: {
          apiVersion: API_GROUP_VERSION,
          kind: "TcpTuningPolicy",
          metadata: { name: "idle-fin" },
          spec: { nodeSelector: { matchLabels: { [END_LABEL]: "yes" } }, sysctls: [{ name: "net.ipv4.tcp_fin_timeout", value: "30" }] },
        },
      });
      seen["controller (policies, nodes)"] = await seenWithin("the controller's node state for the labelled node", async () => {
        const states = (await custom.listClusterCustomObject({ ...POLICY_REF, plural: NODE_STATE_PLURAL })) as { items: { metadata: { name: string } }[] };
        return states.items.some((s) => s.metadata.name === NODE);
      });
      seen["controller (node states)"] = await seenWithin("the policy Ready with the node applied", async () => {
        const p = policySchema.parse(await custom.getClusterCustomObject({ ...POLICY_REF, name: "idle-fin" }));
        return p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") === true && p.status.nodes?.applied === 1;
      });
      seen["webhook (node states)"] = await seenWithin(
        "the webhook admitting the delay policy on the agent's probe",
        async () => (await admission(kc, delayPolicy())) === "allowed",
      );
      await agents.stop();
      agents = undefined;
      process.stderr.write(`idle-watch: the change at the end seen after (ms, each from the previous step): ${JSON.stringify(seen)}\n`);
      expect(controller.exited).toBeUndefined();
      expect(webhook.exitDescription()).toBeUndefined();
    },
    IDLE_MS + 600_000,
  );

  it("after a kube-apiserver restart, an informer whose resourceVersion is too old for the new watch cache (410 Gone) re-LISTs once, and no informer LISTs more than once or again later", async () => {
    // One more informer on nodes, through a proxy that can hold its watches back: its resourceVersion
    // stays behind a node change made while it is held, so the restarted apiserver's watch cache
    // (listed afresh, past that change) refuses it with 410 Gone. The others may or may not be behind
    // (the bookmarks they got may already carry the newest resourceVersion): at most one LIST each.
    const proxy = await ThrottlingProxy.start(kc, plane.kubeconfigPath, join(dir, "proxy.kubeconfig"));
    const viaProxy = makeApiClient(proxy.kubeConfig(), CoreV1Api);
    const held = new ResilientInformer<V1Node>({
      kubeConfig: proxy.kubeConfig(),
      path: "/api/v1/nodes",
      list: () => viaProxy.listNode(),
      logger: createLogger("idle-watch-held", { level: "silent" }),
      backoff: { initialMs: 200, maxMs: 1000 },
    });
    try {
      held.start();
      await held.waitForSync(60_000);
      proxy.throttle = ({ query }) => (query.get("watch") === "true" ? 1 : undefined);
      await seenWithin("a watch of the held informer refused by the proxy", () => proxy.requests.some((r) => r.throttledFor !== undefined));
      const core = kc.makeApiClient(CoreV1Api);
      await core.patchNode({ name: "idle-b", body: { metadata: { labels: { held: "yes" } } } }, mergePatch());
      const own = { lists: informer.lists, expired: informer.expired };
      // The apiserver's counters start again with its new process: what follows counts from its start.
      const downMs = await plane.restart("kube-apiserver", 1000);
      proxy.throttle = () => undefined;
      const seenMs = await seenWithin("the change made while held, in the held informer", () => held.get("idle-b")?.metadata?.labels?.["held"] === "yes");
      expect(held.expired).toBe(1);
      expect(held.lists).toBe(2);
      // Then two full server watch timeouts without a change: every watch ends and is reopened at
      // least once, and an informer stuck in a 410 loop would LIST again each time.
      const relisted = await counts();
      await new Promise((r) => setTimeout(r, 2 * (2 * SERVER_TIMEOUT_S + 1) * 1000));
      const after = await counts();
      const sinceRestart = Object.fromEntries([...after].filter(([k]) => RESOURCES.includes(k.split(" ")[1] ?? "") && /^(LIST|WATCH) /.test(k)));
      process.stderr.write(
        `idle-watch: kube-apiserver away ${downMs} ms; the change made while held reached the held informer ${seenMs} ms after; this process's other informer: ${informer.expired - own.expired} × 410, ${informer.lists - own.lists} LIST; requests since the restart ${JSON.stringify(sinceRestart)}\n`,
      );
      expect(held.lists).toBe(2);
      expect(informer.lists - own.lists).toBe(informer.expired - own.expired);
      expect(informer.lists - own.lists).toBeLessThanOrEqual(1);
      const lists = byResource(new Map(), after, "LIST");
      for (const r of RESOURCES) expect(lists[r], `LIST ${r} since the restart`).toBeLessThanOrEqual(INFORMERS[r]! + (r === "nodes" ? 1 : 0));
      for (const r of RESOURCES) expect(delta(relisted, after, "WATCH", r), `WATCH ${r}`).toBeGreaterThanOrEqual(INFORMERS[r]!);
    } finally {
      await held.stop();
      await proxy.stop();
    }
  }, 300_000);
});
