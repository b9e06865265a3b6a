import { ApiException, CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig, type KubernetesObject } from "@kubernetes/client-node";
import { beforeAll, describe, expect, it } from "vitest";
import { API_GROUP, API_VERSION, POLICY_KIND, POLICY_PLURAL } from "../../src/api/group.js";
import type { PolicySpec, PolicyStatus } from "../../src/api/policy.js";
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
          { type: "Accepted", status: "True", observedGeneration: 1, lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, "Z"), reason: "Valid", message: "test" },
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
