import {
  ApiException,
  ApiextensionsV1Api,
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
  type KubernetesObject,
  type V1Pod,
} from "@kubernetes/client-node";
import { beforeAll, describe, expect, it } from "vitest";
import { API_GROUP, API_VERSION, POLICY_KIND, POLICY_PLURAL } from "../../src/api/v1alpha1/group.js";
import type { PolicySpec, PolicyStatus } from "../../src/api/v1alpha1/policy.js";
import { kubeConfig, uniqueName } from "../support/cluster.js";
import { installCrds } from "../support/crds.js";
import { ResourceWatch } from "../support/watch.js";

type PolicyObject = KubernetesObject & { spec: PolicySpec; status?: PolicyStatus };

const POLICIES_PATH = `/apis/${API_GROUP}/${API_VERSION}/${POLICY_PLURAL}`;
const ref = { group: API_GROUP, version: API_VERSION, plural: POLICY_PLURAL };

function policy(name: string, spec: Partial<PolicySpec> = {}): PolicyObject {
  return {
    apiVersion: `${API_GROUP}/${API_VERSION}`,
    kind: POLICY_KIND,
    metadata: { name },
    spec: { sysctls: [{ name: "net.ipv4.tcp_keepalive_time", value: "600" }], mode: "DryRun", ...spec },
  };
}

/** The apiserver's refusal message, or undefined when it accepted the object. */
async function refusal(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
    return undefined;
  } catch (err) {
    if (err instanceof ApiException) return `${err.code} ${typeof err.body === "string" ? err.body : String(err.body)}`;
    throw err;
  }
}

describe("the real control plane started by the integration global setup", () => {
  let kc: KubeConfig;
  let objects: CustomObjectsApi;

  beforeAll(async () => {
    kc = kubeConfig();
    objects = kc.makeApiClient(CustomObjectsApi);
    const crds = await installCrds(kc);
    expect(crds.map((c) => c.metadata?.name).sort()).toEqual([`${POLICY_PLURAL}.${API_GROUP}`, `tcptuningnodestates.${API_GROUP}`].sort());
  });

  it("serves our CRDs as Established, with the status subresource", async () => {
    const crds = await installCrds(kc);
    for (const crd of crds) {
      expect(crd.status?.conditions?.find((c) => c.type === "Established")?.status).toBe("True");
      expect(crd.spec.versions[0]?.subresources?.status).toEqual({});
    }
  });

  it("shows a watcher the policy it creates as ADDED, and a status written through the status subresource as MODIFIED", async () => {
    const name = uniqueName("cp-watch");
    const watch = await ResourceWatch.open<PolicyObject>(kc, POLICIES_PATH, { fieldSelector: `metadata.name=${name}` });
    try {
      const created = (await objects.createClusterCustomObject({ ...ref, body: policy(name) })) as PolicyObject;
      expect(created.metadata?.generation).toBe(1);

      const added = await watch.next((e) => e.type === "ADDED");
      expect(added.object.metadata?.name).toBe(name);
      expect(added.object.spec.sysctls).toEqual([{ name: "net.ipv4.tcp_keepalive_time", value: "600" }]);

      const status: PolicyStatus = {
        observedGeneration: 1,
        conditions: [
          {
            type: "Accepted",
            status: "True",
            observedGeneration: 1,
            lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
            reason: "Valid",
            message: "test",
          },
        ],
        nodes: { matched: 2, applied: 0, pending: 2, failed: 0, rejected: 0 },
      };
      await objects.patchClusterCustomObjectStatus(
        { ...ref, name, body: { status, spec: { mode: "Enforce" } } },
        setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
      );

      const modified = await watch.next((e) => e.type === "MODIFIED");
      expect(modified.object.status?.conditions?.[0]).toMatchObject({ type: "Accepted", status: "True", observedGeneration: 1 });
      expect(modified.object.status?.nodes?.matched).toBe(2);
      // The status subresource writes status only: the spec change in the same patch is dropped
      // and the generation (which counts spec changes) does not move.
      expect(modified.object.spec.mode).toBe("DryRun");
      expect(modified.object.metadata?.generation).toBe(1);
    } finally {
      watch.stop();
      await objects.deleteClusterCustomObject({ ...ref, name }).catch(() => undefined);
    }
  });

  it("ignores a status sent with the main resource, as the status subresource promises", async () => {
    const name = uniqueName("cp-nostatus");
    const body = { ...policy(name), status: { observedGeneration: 7 } };
    const created = (await objects.createClusterCustomObject({ ...ref, body })) as PolicyObject;
    try {
      expect(created.status).toBeUndefined();
    } finally {
      await objects.deleteClusterCustomObject({ ...ref, name }).catch(() => undefined);
    }
  });

  it.each([
    { maxUnavailable: 3, accepted: true },
    { maxUnavailable: 0, accepted: true },
    { maxUnavailable: "25%", accepted: true },
    { maxUnavailable: "100%", accepted: true },
    { maxUnavailable: -1, accepted: false },
    { maxUnavailable: "150%", accepted: false },
    { maxUnavailable: "25", accepted: false },
  ])("the CRD schema itself decides rollout.maxUnavailable $maxUnavailable: accepted=$accepted", async ({ maxUnavailable, accepted }) => {
    const body = policy(uniqueName("cp-maxu"), { rollout: { maxUnavailable } });
    const refused = await refusal(objects.createClusterCustomObject({ ...ref, body, dryRun: "All" }));
    if (accepted) {
      expect(refused).toBeUndefined();
    } else {
      expect(refused).toMatch(/^422 /);
      expect(refused).toContain("spec.rollout.maxUnavailable");
    }
  });

  it("refuses an out-of-scope sysctl on its own, naming it", async () => {
    const body = policy(uniqueName("cp-scope"), { sysctls: [{ name: "vm.swappiness", value: "10" }] });
    const refused = await refusal(objects.createClusterCustomObject({ ...ref, body, dryRun: "All" }));
    expect(refused).toMatch(/^422 /);
    expect(refused).toContain("vm.swappiness is out of scope");
  });
});

describe("the controller-manager and scheduler of the integration control plane", () => {
  it("give a DaemonSet a pod bound to each matching node, as the agent's DaemonSet will need", async () => {
    const kc = kubeConfig();
    const core = kc.makeApiClient(CoreV1Api);
    const apps = kc.makeApiClient(AppsV1Api);
    const nodeName = uniqueName("cp-node");
    const namespace = uniqueName("cp-ds");
    const labels = { "tcp-tuning-test/node": nodeName };
    await core.createNamespace({ body: { metadata: { name: namespace } } });
    await core.createNode({ body: { metadata: { name: nodeName, labels: { ...labels, "kubernetes.io/os": "linux" } } } });
    try {
      // No kubelet here: the test reports the node Ready with room for pods, as a kubelet would.
      await core.patchNodeStatus(
        {
          name: nodeName,
          body: {
            status: {
              conditions: [
                { type: "Ready", status: "True", reason: "KubeletReady", message: "test", lastHeartbeatTime: new Date(), lastTransitionTime: new Date() },
              ],
              capacity: { cpu: "2", memory: "4Gi", pods: "10" },
              allocatable: { cpu: "2", memory: "4Gi", pods: "10" },
            },
          },
        },
        setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
      );
      const pods = await ResourceWatch.open<V1Pod>(kc, `/api/v1/namespaces/${namespace}/pods`);
      try {
        await apps.createNamespacedDaemonSet({
          namespace,
          body: {
            metadata: { name: "agent" },
            spec: {
              selector: { matchLabels: { app: "agent" } },
              template: {
                metadata: { labels: { app: "agent" } },
                spec: { nodeSelector: labels, containers: [{ name: "agent", image: "registry.invalid/agent:test" }] },
              },
            },
          },
        });
        const bound = await pods.next((e) => e.object.spec?.nodeName === nodeName);
        expect(bound.object.metadata?.ownerReferences?.[0]).toMatchObject({ kind: "DaemonSet", name: "agent" });
      } finally {
        pods.stop();
      }
    } finally {
      await core.deleteNode({ name: nodeName }).catch(() => undefined);
      await core.deleteNamespace({ name: namespace }).catch(() => undefined);
    }
  });
});

describe("the watch helper", () => {
  it("opened on a CRD created a moment ago, retries until the API is served and then sees the first object", async () => {
    const kc = kubeConfig();
    const crdApi = kc.makeApiClient(ApiextensionsV1Api);
    const objects = kc.makeApiClient(CustomObjectsApi);
    const group = "test.tcptuning.io";
    const plural = `${uniqueName("widgets").replace(/-/g, "")}`;
    await crdApi.createCustomResourceDefinition({
      body: {
        metadata: { name: `${plural}.${group}` },
        spec: {
          group,
          scope: "Cluster",
          names: { plural, singular: `${plural}x`, kind: `W${plural.slice(1)}` },
          versions: [
            {
              name: "v1",
              served: true,
              storage: true,
              schema: { openAPIV3Schema: { type: "object", properties: { spec: { type: "object", x_kubernetes_preserve_unknown_fields: true } } } },
            },
          ],
        },
      },
    });
    try {
      // Not waiting for Established on purpose: the watch helper must ride out 404/429 itself.
      const watch = await ResourceWatch.open(kc, `/apis/${group}/v1/${plural}`);
      try {
        const deadline = performance.now() + 30_000;
        for (;;) {
          try {
            await objects.createClusterCustomObject({
              group,
              version: "v1",
              plural,
              body: { apiVersion: `${group}/v1`, kind: `W${plural.slice(1)}`, metadata: { name: "first" }, spec: { n: 1 } },
            });
            break;
          } catch (err) {
            if (performance.now() > deadline) throw err;
            await new Promise((r) => setTimeout(r, 100));
          }
        }
        const added = await watch.next((e) => e.type === "ADDED");
        expect(added.object.metadata?.name).toBe("first");
        expect(watch.errors().every((e) => /^HTTP (404|429|503)/.test(e))).toBe(true);
      } finally {
        watch.stop();
      }
    } finally {
      await crdApi.deleteCustomResourceDefinition({ name: `${plural}.${group}` });
    }
  });
});
