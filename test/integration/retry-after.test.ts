import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ApiException, CoreV1Api, CustomObjectsApi, type KubeConfig, type KubernetesListObject, type V1Node } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { API_GROUP, API_GROUP_VERSION, API_VERSION, NODE_STATE_PLURAL, POLICY_PLURAL } from "../../src/api/v1alpha1/group.js";
import { nodeStateSchema } from "../../src/api/v1alpha1/node-state.js";
import { applyCustomObject } from "../../src/kube/apply.js";
import { FIELD_MANAGERS, makeApiClient } from "../../src/kube/client.js";
import { ResilientInformer } from "../../src/kube/informer.js";
import { mergePatch } from "../../src/kube/patch.js";
import { isApiTimeout } from "../../src/kube/timeout.js";
import { createLogger } from "../../src/log.js";
import { kubeConfig, kubeconfigPath, uniqueName } from "../support/cluster.js";
import { ControllerProcess } from "../support/controller-process.js";
import { installCrds } from "../support/crds.js";
import { eventually } from "../support/eventually.js";
import { ThrottlingProxy, type ProxiedRequest } from "../support/throttling-proxy.js";

// 429 Too Many Requests with Retry-After (issue 14), injected by a proxy in front of the real
// apiserver: makeApiClient (src/kube/retry-after.ts) waits at least Retry-After and sends an
// idempotent request again, a bounded number of times; a create is never sent twice; the wait counts
// against the request's timeout; an informer and the controller process get through.

const FIN = "net.ipv4.tcp_fin_timeout";
const KERNEL = "6.1.0-18-amd64";
let kc: KubeConfig;
let proxy: ThrottlingProxy;
let dir: string;
const fleet = uniqueName("throttle");
const nodeNames = [`${fleet}-0`, `${fleet}-1`];
const POLICY_REF = { group: API_GROUP, version: API_VERSION, plural: POLICY_PLURAL };
const NODES_PATH = "/api/v1/nodes";

/** Throttle the first `times` requests that match, with Retry-After `seconds`. */
function throttleFirst(times: number, seconds: number, match: (method: string, path: string) => boolean): void {
  let left = times;
  proxy.throttle = ({ method, path }) => {
    if (left > 0 && match(method, path)) {
      left--;
      return seconds;
    }
    return undefined;
  };
}

/** Gaps in ms between each throttled request and the next request to the same path and method. */
function waitsAfter429(requests: readonly ProxiedRequest[]): number[] {
  const gaps: number[] = [];
  requests.forEach((r, i) => {
    const next = requests[i + 1];
    if (r.throttledFor !== undefined && next) gaps.push(Math.round(next.at - r.at));
  });
  return gaps;
}

beforeAll(async () => {
  kc = kubeConfig();
  await installCrds(kc);
  dir = await mkdtemp(join(tmpdir(), "tt-429-"));
  proxy = await ThrottlingProxy.start(kc, kubeconfigPath(), join(dir, "proxy.kubeconfig"));
  const core = kc.makeApiClient(CoreV1Api);
  for (const name of nodeNames) {
    await core.createNode({ body: { metadata: { name, labels: { "kubernetes.io/os": "linux", fleet } } } });
    await core.patchNodeStatus({ name, body: { status: { nodeInfo: { kernelVersion: KERNEL, operatingSystem: "linux" } } } }, mergePatch());
  }
});

afterAll(async () => {
  await proxy?.stop();
  const core = kc.makeApiClient(CoreV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);
  await custom.deleteClusterCustomObject({ ...POLICY_REF, name: fleet }).catch(() => undefined);
  for (const n of nodeNames) {
    await core.deleteNode({ name: n }).catch(() => undefined);
    await custom.deleteClusterCustomObject({ group: API_GROUP, version: API_VERSION, plural: NODE_STATE_PLURAL, name: n }).catch(() => undefined);
  }
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("a 429 with Retry-After through makeApiClient", () => {
  it("waits at least Retry-After before each retry of a LIST, and gets through", async () => {
    throttleFirst(2, 1, (m, p) => m === "GET" && p === NODES_PATH);
    const before = proxy.requests.length;
    const core = makeApiClient(proxy.kubeConfig(), CoreV1Api);
    const list = await core.listNode({ labelSelector: `fleet=${fleet}` });
    expect(list.items.map((n) => n.metadata?.name).sort()).toEqual(nodeNames);
    const seen = proxy.requests.slice(before).filter((r) => r.path === NODES_PATH);
    expect(seen.map((r) => r.throttledFor ?? "forwarded")).toEqual([1, 1, "forwarded"]);
    for (const gap of waitsAfter429(seen)) expect(gap).toBeGreaterThanOrEqual(1000);
  });

  it("retries a server-side apply (idempotent) after Retry-After, and the object is applied once", async () => {
    const path = `/apis/${API_GROUP}/${API_VERSION}/${POLICY_PLURAL}/${fleet}-apply`;
    throttleFirst(1, 2, (m, p) => m === "PATCH" && p === path);
    const before = proxy.requests.length;
    const custom = makeApiClient(proxy.kubeConfig(), CustomObjectsApi);
    const body = {
      apiVersion: API_GROUP_VERSION,
      kind: "TcpTuningPolicy",
      metadata: { name: `${fleet}-apply` },
      spec: { nodeSelector: { matchLabels: { fleet: "nobody" } }, sysctls: [{ name: FIN, value: "30" }] },
    };
    try {
      await applyCustomObject(custom, { ...POLICY_REF, name: `${fleet}-apply` }, body, { fieldManager: FIELD_MANAGERS.controller, force: true });
      const seen = proxy.requests.slice(before).filter((r) => r.path === path);
      expect(seen.map((r) => r.throttledFor ?? "forwarded")).toEqual([2, "forwarded"]);
      expect(waitsAfter429(seen)[0]).toBeGreaterThanOrEqual(2000);
      const stored = (await kc.makeApiClient(CustomObjectsApi).getClusterCustomObject({ ...POLICY_REF, name: `${fleet}-apply` })) as {
        metadata: { generation: number };
      };
      expect(stored.metadata.generation).toBe(1);
    } finally {
      await kc
        .makeApiClient(CustomObjectsApi)
        .deleteClusterCustomObject({ ...POLICY_REF, name: `${fleet}-apply` })
        .catch(() => undefined);
    }
  });

  it("never sends a create twice: the 429 is its answer", async () => {
    const path = `/apis/${API_GROUP}/${API_VERSION}/${POLICY_PLURAL}`;
    throttleFirst(1, 1, (m, p) => m === "POST" && p === path);
    const before = proxy.requests.length;
    const custom = makeApiClient(proxy.kubeConfig(), CustomObjectsApi);
    const name = `${fleet}-create`;
    const err = await custom
      .createClusterCustomObject({
        ...POLICY_REF,
        body: { apiVersion: API_GROUP_VERSION, kind: "TcpTuningPolicy", metadata: { name }, spec: { sysctls: [{ name: FIN, value: "30" }] } },
      })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(ApiException);
    expect((err as ApiException<unknown>).code).toBe(429);
    expect(proxy.requests.slice(before).filter((r) => r.path === path && r.method === "POST")).toHaveLength(1);
    await expect(kc.makeApiClient(CustomObjectsApi).getClusterCustomObject({ ...POLICY_REF, name })).rejects.toMatchObject({ code: 404 });
  });

  it("gives up after a bounded number of retries (1 + 3 requests) and answers the 429", async () => {
    proxy.throttle = ({ method, path }) => (method === "GET" && path === NODES_PATH ? 1 : undefined);
    const before = proxy.requests.length;
    const started = performance.now();
    const err = await makeApiClient(proxy.kubeConfig(), CoreV1Api)
      .listNode()
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    proxy.throttle = () => undefined;
    expect((err as ApiException<unknown>).code).toBe(429);
    expect(proxy.requests.slice(before).filter((r) => r.path === NODES_PATH)).toHaveLength(4);
    expect(performance.now() - started).toBeGreaterThanOrEqual(3000);
  });

  it("counts the wait against the request's timeout: a Retry-After longer than the timeout ends in ApiTimeoutError, not a hang", async () => {
    throttleFirst(1, 8, (m, p) => m === "GET" && p === NODES_PATH);
    const started = performance.now();
    const err = await makeApiClient(proxy.kubeConfig(), CoreV1Api, { timeoutMs: 1500 })
      .listNode()
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    const took = performance.now() - started;
    expect(isApiTimeout(err)).toBe(true);
    expect(took).toBeLessThan(7000);
  });
});

describe("components behind a throttling apiserver", () => {
  it("an informer's LIST is throttled twice and it syncs without counting a failure, having waited Retry-After", async () => {
    throttleFirst(2, 2, (m, p) => m === "GET" && p === NODES_PATH);
    const before = proxy.requests.length;
    const through = proxy.kubeConfig();
    const core = makeApiClient(through, CoreV1Api);
    const informer = new ResilientInformer<V1Node>({
      kubeConfig: through,
      path: NODES_PATH,
      list: async () => (await core.listNode()) as KubernetesListObject<V1Node>,
      logger: createLogger("retry-after-test", { level: "warn" }),
    });
    const started = performance.now();
    informer.start();
    try {
      await informer.waitForSync(60_000);
      expect(performance.now() - started).toBeGreaterThanOrEqual(4000);
      expect(informer.errors).toBe(0);
      expect(informer.lists).toBe(1);
      expect(informer.list().map((n) => n.metadata?.name)).toEqual(expect.arrayContaining(nodeNames));
      const lists = proxy.requests.slice(before).filter((r) => r.path === NODES_PATH && r.method === "GET");
      expect(lists.slice(0, 3).map((r) => r.throttledFor ?? "forwarded")).toEqual([2, 2, "forwarded"]);
      for (const gap of waitsAfter429(lists.slice(0, 3))) expect(gap).toBeGreaterThanOrEqual(2000);
    } finally {
      await informer.stop();
    }
  });

  it("the controller process gets through: every first LIST and first node-state apply throttled, the policy still reaches each node's state", async () => {
    const throttled = new Set<string>();
    // The first request of each kind (LIST of policies, node states, nodes; each node state's apply) gets a 429 with Retry-After 2.
    proxy.throttle = ({ method, path, query }) => {
      const key = `${method} ${path}${query.get("watch") === "true" ? " watch" : ""}`;
      const interesting =
        (method === "GET" && query.get("watch") !== "true" && /\/(tcptuningpolicies|tcptuningnodestates|nodes)$/.test(path)) ||
        (method === "PATCH" && path.includes(`/${NODE_STATE_PLURAL}/${fleet}`));
      if (!interesting || throttled.has(key)) return undefined;
      throttled.add(key);
      return 2;
    };
    const before = proxy.requests.length;
    const controller = ControllerProcess.start(`${fleet}-controller`, dir, [
      "--kubeconfig",
      proxy.kubeconfigPath,
      "--lease-namespace",
      "default",
      "--lease-name",
      fleet,
      "--lease-duration",
      "6s",
      "--renew-deadline",
      "4s",
      "--retry-period",
      "1s",
    ]);
    try {
      await kc.makeApiClient(CustomObjectsApi).createClusterCustomObject({
        ...POLICY_REF,
        body: {
          apiVersion: API_GROUP_VERSION,
          kind: "TcpTuningPolicy",
          metadata: { name: fleet },
          spec: { nodeSelector: { matchLabels: { fleet } }, sysctls: [{ name: FIN, value: "31" }] },
        },
      });
      for (const node of nodeNames) {
        await eventually(
          `${node}'s state to carry the policy`,
          async () => {
            const s = nodeStateSchema.parse(
              await kc
                .makeApiClient(CustomObjectsApi)
                .getClusterCustomObject({ group: API_GROUP, version: API_VERSION, plural: NODE_STATE_PLURAL, name: node })
                .catch(() => ({ spec: { nodeName: node } })),
            );
            return s.spec.sysctls?.some((k) => k.name === FIN && k.value === "31") ? s : undefined;
          },
          120_000,
          250,
        ).catch(async (err: unknown) => {
          throw new Error(`${(err as Error).message}; controller: ${controller.group.lastLines(20)}`);
        });
      }
      const seen = proxy.requests.slice(before);
      const got429 = seen.filter((r) => r.throttledFor !== undefined);
      // Three LISTs and both node states' first apply were refused once; each was sent again no sooner than Retry-After.
      expect(got429.length).toBeGreaterThanOrEqual(5);
      for (const r of got429) {
        const next = seen.find((n) => n.at > r.at && n.method === r.method && n.path === r.path && n.throttledFor === undefined);
        expect(next, `${r.method} ${r.path} sent again`).toBeDefined();
        expect(next!.at - r.at).toBeGreaterThanOrEqual(2000);
      }
      expect(controller.exited).toBeUndefined();
      process.stderr.write(`retry-after: controller got ${got429.length} x 429 (Retry-After 2 s) among ${seen.length} requests, each retried after >= 2 s\n`);
    } finally {
      proxy.throttle = () => undefined;
      await controller.stop();
    }
  }, 240_000);
});
