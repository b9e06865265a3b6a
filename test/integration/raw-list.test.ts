import { createServer, type Server } from "node:http";
import { mkdtemp, rm } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ApiException, CoreV1Api, KubeConfig, type KubernetesObject, type V1ConfigMap } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isNotFound } from "../../src/kube/api-error.js";
import { apiConfiguration } from "../../src/kube/client.js";
import { listAllPages } from "../../src/kube/list-pages.js";
import { rawListPage } from "../../src/kube/raw-list.js";
import { ApiTimeoutError } from "../../src/kube/timeout.js";
import { kubeConfig, kubeconfigPath, uniqueName } from "../support/cluster.js";
import { SilentServer } from "../support/silent-server.js";
import { ThrottlingProxy } from "../support/throttling-proxy.js";

// The webhook's node cache lists Nodes and node states raw (src/kube/raw-list.ts): each item parsed
// on its own as the page streams in, projected at once, through the same request pipeline (auth,
// User-Agent, timeout, 429 + Retry-After) as every API client.

const COUNT = 230;
let kc: KubeConfig;
let core: CoreV1Api;
let namespace: string;

beforeAll(async () => {
  kc = kubeConfig();
  core = kc.makeApiClient(CoreV1Api);
  namespace = uniqueName("rawlist");
  await core.createNamespace({ body: { metadata: { name: namespace } } });
  for (let i = 0; i < COUNT; i += 10) {
    await Promise.all(
      Array.from({ length: 10 }, (_, j) =>
        core.createNamespacedConfigMap({
          namespace,
          body: { metadata: { name: `cm-${i + j}`, labels: { n: String(i + j) } }, data: { big: "é".repeat(2000), keep: String(i + j) } },
        }),
      ),
    );
  }
}, 180_000);

afterAll(async () => {
  await core?.deleteNamespace({ name: namespace }).catch(() => undefined);
});

type Slim = KubernetesObject & { keep: string | undefined; plain: boolean };
const slim = (cm: V1ConfigMap): Slim => ({
  metadata: { name: cm.metadata?.name ?? "", labels: cm.metadata?.labels ?? {} },
  keep: cm.data?.["keep"],
  // A plain parsed object, not one of client-node's model classes.
  plain: Object.getPrototypeOf(cm) === Object.prototype,
});
const configMapsPath = () => `/api/v1/namespaces/${namespace}/configmaps`;

describe("a raw LIST on the real apiserver", () => {
  it(`reads all ${COUNT} objects in pages, each projected as a plain object, with a resourceVersion a watch can start from`, async () => {
    let pages = 0;
    const page = rawListPage(apiConfiguration(kc), configMapsPath(), slim);
    const list = await listAllPages(
      async (p) => {
        pages++;
        return page(p);
      },
      (s: Slim) => s,
      50,
    );
    const ours = list.items.filter((s) => s.metadata?.name?.startsWith("cm-"));
    expect(ours).toHaveLength(COUNT);
    expect(pages).toBeGreaterThanOrEqual(5);
    expect(ours.every((s) => s.plain)).toBe(true);
    const seven = ours.find((s) => s.metadata?.name === "cm-7");
    expect(seven).toEqual({ metadata: { name: "cm-7", labels: { n: "7" } }, keep: "7", plain: true });
    expect(list.metadata?.resourceVersion).toMatch(/^\d+$/);
    expect(list.metadata?._continue).toBeUndefined();
    // The same snapshot client-node's own LIST gives.
    const whole = await core.listNamespacedConfigMap({ namespace });
    expect(new Set(list.items.map((s) => s.metadata?.name))).toEqual(new Set(whole.items.map((c) => c.metadata?.name)));
  });

  it("fails like a generated call: an ApiException with the status and the Status body", async () => {
    const err = await rawListPage(
      apiConfiguration(kc),
      `/apis/nothing.example.com/v1/things`,
      (o) => o,
    )({ limit: 10 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ApiException);
    expect((err as ApiException<string>).code).toBe(404);
    expect(isNotFound(err)).toBe(true);
    const bad = await rawListPage(
      apiConfiguration(kc),
      configMapsPath(),
      (o) => o,
    )({ limit: 10, _continue: "not-a-token" }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((bad as ApiException<string>).code).toBe(400);
    expect(String((bad as ApiException<string>).body)).toContain("continue");
  });

  it("waits out a 429 with Retry-After and gets through, like every API client", async () => {
    const dir = await mkdtemp(join(tmpdir(), "tt-rawlist-"));
    const proxy = await ThrottlingProxy.start(kc, kubeconfigPath(), join(dir, "proxy.kubeconfig"));
    try {
      let left = 1;
      proxy.throttle = ({ path }) => (path === configMapsPath() && left-- > 0 ? 1 : undefined);
      const list = await listAllPages(rawListPage(apiConfiguration(proxy.kubeConfig()), configMapsPath(), slim), (s: Slim) => s);
      expect(list.items.filter((s) => s.metadata?.name?.startsWith("cm-"))).toHaveLength(COUNT);
      // The first page throttled once, then that page and the next two (pages of 100) forwarded.
      const seen = proxy.to(configMapsPath());
      expect(seen.map((r) => r.throttledFor ?? "forwarded")).toEqual([1, "forwarded", "forwarded", "forwarded"]);
      expect((seen[1]?.at ?? 0) - (seen[0]?.at ?? 0)).toBeGreaterThanOrEqual(1000);
    } finally {
      await proxy.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("a raw LIST's timeout", () => {
  let silent: SilentServer;
  let stalling: Server;
  let stallingPort: number;

  beforeAll(async () => {
    silent = await SilentServer.start();
    // Answers 200 and the start of a list, then never sends the rest.
    stalling = createServer((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.write('{"kind":"NodeList","metadata":{"resourceVersion":"1"},"items":[{"metadata":{"name":"a"}},');
    });
    await new Promise<void>((resolve) => stalling.listen(0, "127.0.0.1", resolve));
    stallingPort = (stalling.address() as AddressInfo).port;
  });

  afterAll(async () => {
    await silent?.close();
    stalling?.closeAllConnections();
    await new Promise((resolve) => stalling?.close(resolve));
  });

  it("covers a server that never answers", async () => {
    const started = performance.now();
    const err = await rawListPage(
      apiConfiguration(silent.kubeConfig(), { timeoutMs: 500 }),
      "/api/v1/nodes",
      (o) => o,
    )({ limit: 100 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ApiTimeoutError);
    expect((err as Error).message).toBe("GET /api/v1/nodes timed out after 500 ms");
    expect(performance.now() - started).toBeLessThan(10_000);
  });

  it("covers a page whose body stops half way", async () => {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      // Plain HTTP: client-node allows it only with skipTLSVerify.
      clusters: [{ name: "stalling", server: `http://127.0.0.1:${stallingPort}`, skipTLSVerify: true }],
      users: [{ name: "u", token: "t" }],
      contexts: [{ name: "stalling", cluster: "stalling", user: "u" }],
      currentContext: "stalling",
    });
    const read: string[] = [];
    const started = performance.now();
    const err = await rawListPage(apiConfiguration(kc, { timeoutMs: 700 }), "/api/v1/nodes", (o) => {
      read.push(o.metadata?.name ?? "");
      return o;
    })({ limit: 100 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(read).toEqual(["a"]);
    expect(err).toBeInstanceOf(ApiTimeoutError);
    expect(performance.now() - started).toBeLessThan(10_000);
  });
});
