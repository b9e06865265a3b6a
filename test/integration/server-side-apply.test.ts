import { CustomObjectsApi, type KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { API_GROUP, API_GROUP_VERSION, API_VERSION, NODE_STATE_KIND, NODE_STATE_PLURAL } from "../../src/api/v1alpha1/group.js";
import { nodeStateSchema, type NodeStateStatus } from "../../src/api/v1alpha1/node-state.js";
import { applyCustomObject, applyCustomObjectStatus } from "../../src/kube/apply.js";
import { FIELD_MANAGERS, makeApiClient } from "../../src/kube/client.js";
import { NodeStateClient } from "../../src/kube/node-state-client.js";
import { kubeConfig, uniqueName } from "../support/cluster.js";
import { installCrds } from "../support/crds.js";

const REF = { group: API_GROUP, version: API_VERSION, plural: NODE_STATE_PLURAL };
let kc: KubeConfig;
let custom: CustomObjectsApi;
const created: string[] = [];

beforeAll(async () => {
  kc = kubeConfig();
  custom = makeApiClient(kc, CustomObjectsApi);
  await installCrds(kc);
});

afterAll(async () => {
  await Promise.all(created.map((name) => custom.deleteClusterCustomObject({ ...REF, name }).catch(() => undefined)));
});

const SPEC_SYSCTLS = [
  { name: "net.ipv4.tcp_fin_timeout", value: "30", policy: "p", policyGeneration: 1 },
  { name: "net.ipv4.tcp_tw_reuse", value: "1", policy: "p", policyGeneration: 1 },
];

/** The controller's intent for a node state, applied as the controller. */
async function applySpec(name: string): Promise<void> {
  await applyCustomObject(
    custom,
    { ...REF, name },
    { apiVersion: API_GROUP_VERSION, kind: NODE_STATE_KIND, metadata: { name }, spec: { nodeName: name, sysctls: SPEC_SYSCTLS } },
    { fieldManager: FIELD_MANAGERS.controller, force: true },
  );
}

function status(keys: string[], withDrift: boolean): NodeStateStatus {
  return {
    observedGeneration: 1,
    keys: keys.map((k) => ({ name: k, desired: "1", actual: "1", result: "Applied" as const })),
    ...(withDrift ? { drift: { count: 3, lastKeys: ["net.ipv4.tcp_fin_timeout"] } } : {}),
  };
}

async function read(name: string) {
  return nodeStateSchema.parse(await custom.getClusterCustomObject({ ...REF, name }));
}

async function managers(name: string): Promise<{ manager: string; operation: string; subresource: string }[]> {
  const raw = (await custom.getClusterCustomObject({ ...REF, name })) as {
    metadata: { managedFields?: { manager?: string; operation?: string; subresource?: string }[] };
  };
  return (raw.metadata.managedFields ?? []).map((m) => ({ manager: m.manager ?? "", operation: m.operation ?? "", subresource: m.subresource ?? "" }));
}

describe("server-side apply", () => {
  it("creates a node state by applying the controller's spec, owned by the controller's field manager", async () => {
    const name = uniqueName("ssa-node");
    created.push(name);
    await applySpec(name);
    const obj = await read(name);
    expect(obj.spec.sysctls?.map((s) => s.name)).toEqual(SPEC_SYSCTLS.map((s) => s.name));
    expect(await managers(name)).toEqual([{ manager: FIELD_MANAGERS.controller, operation: "Apply", subresource: "" }]);
  });

  it("removes a status field and a status.keys entry the agent stops sending, and leaves the controller's spec alone", async () => {
    const name = uniqueName("ssa-node");
    created.push(name);
    await applySpec(name);
    const agent = new NodeStateClient(kc);
    await agent.patchStatus(name, status(["net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_tw_reuse"], true));
    const before = await read(name);
    expect(before.status?.drift?.count).toBe(3);
    expect(before.status?.keys?.map((k) => k.name)).toEqual(["net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_tw_reuse"]);

    await agent.patchStatus(name, status(["net.ipv4.tcp_fin_timeout"], false));
    const after = await read(name);
    expect(after.status?.drift).toBeUndefined();
    expect(after.status?.keys?.map((k) => k.name)).toEqual(["net.ipv4.tcp_fin_timeout"]);
    expect(after.spec).toEqual(before.spec);
    expect(after.metadata.generation).toBe(before.metadata.generation);
    expect(await managers(name)).toEqual(
      expect.arrayContaining([
        { manager: FIELD_MANAGERS.controller, operation: "Apply", subresource: "" },
        { manager: FIELD_MANAGERS.agent, operation: "Apply", subresource: "status" },
      ]),
    );
  });

  it("the controller's next apply of spec leaves the agent's status alone", async () => {
    const name = uniqueName("ssa-node");
    created.push(name);
    await applySpec(name);
    await new NodeStateClient(kc).patchStatus(name, status(["net.ipv4.tcp_tw_reuse"], true));
    await applySpec(name);
    const obj = await read(name);
    expect(obj.status?.keys?.map((k) => k.name)).toEqual(["net.ipv4.tcp_tw_reuse"]);
    expect(obj.status?.drift?.count).toBe(3);
  });

  it("without force, refuses to take a field another manager owns, and says who is applying what", async () => {
    const name = uniqueName("ssa-node");
    created.push(name);
    await applySpec(name);
    const attempt = applyCustomObject(
      custom,
      { ...REF, name },
      { apiVersion: API_GROUP_VERSION, kind: NODE_STATE_KIND, metadata: { name }, spec: { nodeName: name, sysctls: [{ ...SPEC_SYSCTLS[0], value: "45" }] } },
      { fieldManager: FIELD_MANAGERS.webhook, force: false },
    );
    await expect(attempt).rejects.toThrow(new RegExp(`apply tcptuningnodestates.tcptuning.io ${name} as tcp-tuning-webhook: 409 Conflict`));
  });

  it("applying the status of an object that does not exist fails with 404 (status apply never creates)", async () => {
    const name = uniqueName("ssa-missing");
    const attempt = applyCustomObjectStatus(
      custom,
      { ...REF, name },
      { apiVersion: API_GROUP_VERSION, kind: NODE_STATE_KIND, metadata: { name }, status: {} },
      { fieldManager: FIELD_MANAGERS.agent, force: true },
    );
    await expect(attempt).rejects.toThrow(/404/);
  });
});
