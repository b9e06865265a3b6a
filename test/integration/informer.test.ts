import { CoreV1Api, type KubeConfig, type V1ConfigMap } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeApiClient } from "../../src/kube/client.js";
import { ResilientInformer } from "../../src/kube/informer.js";
import { runWorkers, WorkQueue } from "../../src/kube/work-queue.js";
import { createLogger } from "../../src/log.js";
import { kubeConfig, uniqueName } from "../support/cluster.js";
import { until } from "../support/eventually.js";

const log = createLogger("test", { level: "silent" });
const COUNT = 200;
let kc: KubeConfig;
let core: CoreV1Api;
let namespace: string;

beforeAll(async () => {
  kc = kubeConfig();
  core = makeApiClient(kc, CoreV1Api);
  namespace = uniqueName("informer");
  await core.createNamespace({ body: { metadata: { name: namespace } } });
  // 200 objects, 10 requests at a time.
  for (let i = 0; i < COUNT; i += 10) {
    await Promise.all(
      Array.from({ length: 10 }, (_, j) =>
        core.createNamespacedConfigMap({
          namespace,
          body: { metadata: { name: `cm-${i + j}`, labels: { n: String(i + j) } }, data: { big: "x".repeat(1000), keep: String(i + j) } },
        }),
      ),
    );
  }
}, 180_000);

afterAll(async () => {
  await core?.deleteNamespace({ name: namespace }).catch(() => undefined);
});

function configMaps<S extends { metadata?: V1ConfigMap["metadata"] } = V1ConfigMap>(
  transform?: (cm: V1ConfigMap) => S,
  handlers: { onAdd?: (o: S) => void; onUpdate?: (o: S) => void; onDelete?: (o: S) => void } = {},
) {
  return new ResilientInformer<V1ConfigMap, S>({
    kubeConfig: kc,
    path: `/api/v1/namespaces/${namespace}/configmaps`,
    list: () => core.listNamespacedConfigMap({ namespace }),
    logger: log,
    ...(transform ? { transform } : {}),
    ...handlers,
  });
}

describe("ResilientInformer", () => {
  it(`holds all ${COUNT} listed objects in list() as soon as waitForSync() resolves`, async () => {
    const informer = configMaps();
    informer.start();
    try {
      await informer.waitForSync(60_000);
      // No await between: whatever a controller would read right after the sync.
      // (kube-controller-manager adds kube-root-ca.crt to every namespace.)
      const names = informer
        .list()
        .map((c) => c.metadata?.name ?? "")
        .filter((n) => n.startsWith("cm-"));
      expect(names).toHaveLength(COUNT);
      expect(new Set(names).size).toBe(COUNT);
      expect(informer.get("cm-199", namespace)?.data?.["keep"]).toBe("199");
    } finally {
      await informer.stop();
    }
  });

  it("stores only the projection a transform returns, keeping name, namespace and resourceVersion, for listed and watched objects", async () => {
    type Slim = { metadata?: V1ConfigMap["metadata"]; keep: string };
    const informer = configMaps<Slim>((cm) => ({ metadata: { labels: cm.metadata?.labels ?? {} }, keep: cm.data?.["keep"] ?? "" }));
    informer.start();
    try {
      await informer.waitForSync(60_000);
      const one = informer.get("cm-7", namespace);
      expect(one?.keep).toBe("7");
      expect(one?.metadata?.name).toBe("cm-7");
      expect(one?.metadata?.namespace).toBe(namespace);
      expect(one?.metadata?.resourceVersion).toMatch(/^\d+$/);
      expect(one?.metadata?.labels).toEqual({ n: "7" });
      expect(JSON.stringify(one)).not.toContain("xxxx");
      await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: "watched" }, data: { big: "x".repeat(1000), keep: "w" } } });
      await until("the watched object in the cache", () => informer.get("watched", namespace)?.keep === "w", 30_000);
      expect(JSON.stringify(informer.get("watched", namespace))).not.toContain("xxxx");
    } finally {
      await informer.stop();
    }
  });

  it("feeds a work queue: each add, update and delete becomes a key, reconciled once per burst of changes", async () => {
    const queue = new WorkQueue();
    const key = (o: { metadata?: { name?: string } }): string => o.metadata?.name ?? "";
    const informer = configMaps(undefined, { onAdd: (o) => queue.add(key(o)), onUpdate: (o) => queue.add(key(o)), onDelete: (o) => queue.add(key(o)) });
    const reconciled = new Map<string, number>();
    const present = new Map<string, string | undefined>();
    informer.start();
    await informer.waitForSync(60_000);
    const workers = runWorkers(
      queue,
      2,
      async (name) => {
        reconciled.set(name, (reconciled.get(name) ?? 0) + 1);
        present.set(name, informer.get(name, namespace)?.data?.["keep"]);
      },
      log,
      "test",
    );
    try {
      await until(`all ${COUNT} initial keys reconciled`, () => [...reconciled.keys()].filter((k) => k.startsWith("cm-")).length === COUNT, 30_000);
      await core.patchNamespacedConfigMap({ namespace, name: "cm-3", body: [{ op: "replace", path: "/data/keep", value: "changed" }] });
      await core.deleteNamespacedConfigMap({ namespace, name: "cm-4" });
      await until("the update reconciled from the cache", () => present.get("cm-3") === "changed", 30_000);
      await until("the delete reconciled (gone from the cache)", () => reconciled.get("cm-4") === 2 && present.get("cm-4") === undefined, 30_000);
      expect(reconciled.get("cm-5")).toBe(1);
    } finally {
      await queue.shutDown();
      await workers;
      await informer.stop();
    }
  });
});
