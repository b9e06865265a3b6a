import { CustomObjectsApi, type KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { API_GROUP, API_VERSION, NODE_STATE_KIND, NODE_STATE_PLURAL } from "../../src/api/v1alpha1/group.js";
import { NodeStateClient, type WatchPhase } from "../../src/kube/node-state-client.js";
import { mergePatch } from "../../src/kube/patch.js";
import { kubeConfig, uniqueName } from "../support/cluster.js";
import { installCrds } from "../support/crds.js";

const STATE_REF = { group: API_GROUP, version: API_VERSION, plural: NODE_STATE_PLURAL };
const name = uniqueName("quiet-node");
let kc: KubeConfig;
let objects: CustomObjectsApi;

beforeAll(async () => {
  kc = kubeConfig();
  objects = kc.makeApiClient(CustomObjectsApi);
  await installCrds(kc);
  await objects.createClusterCustomObject({
    ...STATE_REF,
    body: { apiVersion: `${API_GROUP}/${API_VERSION}`, kind: NODE_STATE_KIND, metadata: { name }, spec: { nodeName: name, sysctls: [] } },
  });
});

afterAll(async () => {
  await objects?.deleteClusterCustomObject({ ...STATE_REF, name }).catch(() => undefined);
});

describe("NodeStateClient.watch", () => {
  it("stays open on an object nobody changes for longer than client-node's 30 s inactivity timeout, and still sees the next change", async () => {
    const client = new NodeStateClient(kc);
    const current = await client.get(name);
    const events: WatchPhase[] = [];
    const ended: unknown[] = [];
    const watch = await client.watch(
      name,
      current?.metadata.resourceVersion,
      (phase) => events.push(phase),
      (err) => ended.push(err ?? "closed"),
    );
    try {
      // Every agent watches its one object; a watch that ends after 30 quiet seconds is a GET and a new
      // watch per node every 30 s, for nothing (and a warning in every agent's log).
      await new Promise((r) => setTimeout(r, 36_000));
      expect(ended).toEqual([]);
      await objects.patchClusterCustomObject({ ...STATE_REF, name, body: { metadata: { labels: { touched: "yes" } } } }, mergePatch());
      const deadline = performance.now() + 10_000;
      while (!events.includes("MODIFIED") && performance.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(events).toContain("MODIFIED");
    } finally {
      watch.stop();
    }
  }, 60_000);
});
