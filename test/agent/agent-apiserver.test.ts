import { readFile, rm } from "node:fs/promises";
import { CoreV1Api, CustomObjectsApi, KubeConfig, PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { API_GROUP, API_VERSION, NODE_STATE_PLURAL } from "../../src/api/v1alpha1/group.js";
import { nodeStateSchema, type NodeState } from "../../src/api/v1alpha1/node-state.js";
import { ControlPlane } from "../support/control-plane.js";
import { installCrds } from "../support/crds.js";
import { PAUSE_AFTER_WRITES_ENV } from "../../src/agent/cli.js";
import { AgentProcess, agentFiles, eventually, removeAgentFiles, type AgentFiles } from "./support/agent-process.js";
import { agentKubeconfig } from "./support/agent-identity.js";
import { bridgeApiserver, type ApiserverBridge } from "./support/apiserver-bridge.js";
import { expectHostSysctlsUntouched } from "./support/host-guard.js";
import { createNamespace, destroyAllNamespaces, nsSysctl, nsSysctlWrite } from "./support/netns.js";

/**
 * The agent against a real control plane (etcd + kube-apiserver built from Go modules, with this
 * project's CRDs): it watches only its own TcpTuningNodeState, writes status through the status
 * subresource with observedGeneration and conditions, emits Events, corrects drift, restores a key
 * that leaves spec and everything when the object is deleted. The agent process runs inside a
 * network namespace; it reaches the apiserver through a Unix-socket bridge (apiserver-bridge.ts).
 */

const REUSE = "net.ipv4.tcp_tw_reuse";
const RANGE = "net.ipv4.ip_local_port_range";
const FIN = "net.ipv4.tcp_fin_timeout";
const KEEPALIVE = "net.ipv4.tcp_keepalive_time";

let plane: ControlPlane;
let kc: KubeConfig;
let custom: CustomObjectsApi;
let core: CoreV1Api;
let ns: string;
let files: AgentFiles;
let bridge: ApiserverBridge;
let agent: AgentProcess | undefined;
/** A ServiceAccount token allowed to read only this node's state (see agent-identity.ts). */
let agentKc: string;
const NODE = `node-${Math.random().toString(16).slice(2, 8)}`;
const OTHER = `${NODE}-other`;

function nodeState(name: string, sysctls: { name: string; value: string }[]): object {
  return {
    apiVersion: `${API_GROUP}/${API_VERSION}`,
    kind: "TcpTuningNodeState",
    metadata: { name },
    spec: { nodeName: name, sysctls: sysctls.map((s) => ({ ...s, policy: "reuse-policy", policyGeneration: 1 })) },
  };
}

function startAgent(env: Record<string, string> = {}): AgentProcess {
  // Through the real command line: `tcp-tuning agent`, as the DaemonSet runs it.
  agent = AgentProcess.start({
    ns,
    entry: "cli",
    args: ["--kubeconfig", agentKc, "--state-file", files.state, "--drift-interval", "500ms"],
    env: { NODE_NAME: NODE, ...env },
  });
  return agent;
}

async function setSpec(sysctls: { name: string; value: string }[]): Promise<void> {
  await custom.patchClusterCustomObject(
    {
      group: API_GROUP,
      version: API_VERSION,
      plural: NODE_STATE_PLURAL,
      name: NODE,
      body: { spec: { sysctls: sysctls.map((x) => ({ ...x, policy: "reuse-policy", policyGeneration: 1 })) } },
    },
    setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
  );
}

async function stateOriginals(): Promise<Record<string, string>> {
  const state = JSON.parse(await readFile(files.state, "utf8")) as { originals: { name: string; value: string }[] };
  return Object.fromEntries(state.originals.map((o) => [o.name, o.value]));
}

async function getState(name: string): Promise<NodeState> {
  return nodeStateSchema.parse(await custom.getClusterCustomObject({ group: API_GROUP, version: API_VERSION, plural: NODE_STATE_PLURAL, name }));
}

async function eventsFor(name: string): Promise<{ type: string; reason: string; message: string }[]> {
  const list = await core.listNamespacedEvent({ namespace: "default", fieldSelector: `involvedObject.name=${name}` });
  return list.items.map((e) => ({ type: e.type ?? "", reason: e.reason ?? "", message: e.message ?? "" }));
}

beforeAll(async () => {
  plane = await ControlPlane.start({ controllers: false });
  kc = new KubeConfig();
  kc.loadFromFile(plane.kubeconfigPath);
  await installCrds(kc);
  custom = kc.makeApiClient(CustomObjectsApi);
  core = kc.makeApiClient(CoreV1Api);
  ns = await createNamespace();
  files = await agentFiles();
  bridge = await bridgeApiserver(ns, Number(new URL(plane.server).port), files.dir);
  agentKc = await agentKubeconfig(kc, NODE, files.dir);
});

afterAll(async () => {
  await agent?.stop("SIGKILL");
  await bridge?.close();
  await destroyAllNamespaces();
  if (files) await removeAgentFiles(files);
  await plane?.stop();
});

describe("the node agent against a real API server", () => {
  it("has the API server reject kernel.core_pattern in a node state first (the agent's own refusal is the second line)", async () => {
    await expect(
      custom.createClusterCustomObject({
        group: API_GROUP,
        version: API_VERSION,
        plural: NODE_STATE_PLURAL,
        body: nodeState(`${NODE}-evil`, [{ name: "kernel.core_pattern", value: "|/tmp/x" }]),
      }),
    ).rejects.toMatchObject({ code: 422 });
  });

  it("applies its own node state, reports it through the status subresource and emits an Event", async () => {
    await custom.createClusterCustomObject({
      group: API_GROUP,
      version: API_VERSION,
      plural: NODE_STATE_PLURAL,
      body: nodeState(OTHER, [{ name: REUSE, value: "0" }]),
    });
    await custom.createClusterCustomObject({
      group: API_GROUP,
      version: API_VERSION,
      plural: NODE_STATE_PLURAL,
      body: nodeState(NODE, [
        { name: REUSE, value: "1" },
        { name: RANGE, value: "40000 40007" },
      ]),
    });
    startAgent();

    const s = await eventually("status at generation 1", async () => {
      const o = await getState(NODE);
      return o.status?.observedGeneration === o.metadata.generation && o.status?.conditions?.some((c) => c.type === "Applied" && c.status === "True")
        ? o
        : undefined;
    });
    expect(s.metadata.generation).toBe(1);
    expect(s.status?.keys?.map((k) => [k.name, k.result, k.actual])).toEqual([
      [REUSE, "Applied", "1"],
      [RANGE, "Applied", "40000 40007"],
    ]);
    expect(s.status?.originals?.map((o) => [o.name, o.value])).toEqual([
      [REUSE, "2"],
      [RANGE, "32768 60999"],
    ]);
    expect(s.status?.conditions?.find((c) => c.type === "Applied")?.observedGeneration).toBe(1);
    expect(s.status?.probe?.keys.find((k) => k.name === REUSE)).toEqual({ name: REUSE, present: true, value: "1" });
    expect(s.status?.counters?.timeWait).toMatch(/^\d+$/);
    expect({ reuse: await nsSysctl(ns, REUSE), range: await nsSysctl(ns, RANGE) }).toEqual({ reuse: "1", range: "40000 40007" });
    // The status was written by the agent's field manager through the status subresource.
    expect(s.metadata["managedFields"]).toEqual(expect.arrayContaining([expect.objectContaining({ manager: "tcp-tuning-agent", subresource: "status" })]));
    const events = await eventually("an Applied Event", async () => {
      const ev = await eventsFor(NODE);
      return ev.some((e) => e.reason === "Applied") ? ev : undefined;
    });
    expect(events.find((e) => e.reason === "Applied")).toMatchObject({ type: "Normal" });

    // Another node's state is not this agent's business: it has no status, and the agent's identity
    // (RBAC resourceNames = its own node) could not even read it.
    expect((await getState(OTHER)).status).toBeUndefined();
    const asAgent = new KubeConfig();
    asAgent.loadFromFile(agentKc);
    const agentApi = asAgent.makeApiClient(CustomObjectsApi);
    await expect(agentApi.getClusterCustomObject({ group: API_GROUP, version: API_VERSION, plural: NODE_STATE_PLURAL, name: OTHER })).rejects.toMatchObject({
      code: 403,
    });
    await expect(agentApi.listClusterCustomObject({ group: API_GROUP, version: API_VERSION, plural: NODE_STATE_PLURAL })).rejects.toMatchObject({ code: 403 });
  });

  it("corrects drift made with sysctl -w and reports it in status and as a Warning Event", async () => {
    await nsSysctlWrite(ns, REUSE, "0");
    const s = await eventually("drift in status", async () => {
      const o = await getState(NODE);
      return (o.status?.drift?.count ?? 0) >= 1 ? o : undefined;
    });
    expect(s.status?.drift?.lastKeys).toEqual([REUSE]);
    expect(await nsSysctl(ns, REUSE)).toBe("1");
    const ev = await eventually("a DriftCorrected Event", async () => {
      const list = await eventsFor(NODE);
      return list.find((e) => e.reason === "DriftCorrected");
    });
    expect(ev).toMatchObject({ type: "Warning" });
    expect(ev.message).toContain(REUSE);
  });

  it("survives kill -9 in the middle of a generation: after a restart the originals are intact and the desired state is reached", async () => {
    // An agent upgrade first: SIGTERM leaves the values in place.
    expect((await agent?.stop("SIGTERM"))?.code).toBe(0);
    expect({ reuse: await nsSysctl(ns, REUSE), range: await nsSysctl(ns, RANGE) }).toEqual({ reuse: "1", range: "40000 40007" });

    const paused = startAgent({ [PAUSE_AFTER_WRITES_ENV]: "1" });
    await eventually("the restarted agent's status", async () => ((await getState(NODE)).status?.observedGeneration === 1 ? true : undefined));
    await setSpec([
      { name: REUSE, value: "1" },
      { name: RANGE, value: "40000 40007" },
      { name: FIN, value: "30" },
      { name: KEEPALIVE, value: "600" },
    ]);
    await paused.waitForLog((l) => l.msg === "test hook: paused after a sysctl write");
    expect({ fin: await nsSysctl(ns, FIN), keepalive: await nsSysctl(ns, KEEPALIVE) }).toEqual({ fin: "30", keepalive: "7200" });
    const originals = { [REUSE]: "2", [RANGE]: "32768 60999", [FIN]: "60", [KEEPALIVE]: "7200" };
    expect(await stateOriginals()).toEqual(originals);
    expect((await paused.stop("SIGKILL")).signal).toBe("SIGKILL");

    startAgent();
    const s = await eventually("status at generation 2, applied", async () => {
      const o = await getState(NODE);
      return o.status?.observedGeneration === 2 && o.status.conditions?.some((c) => c.type === "Applied" && c.status === "True") ? o : undefined;
    });
    expect({ fin: await nsSysctl(ns, FIN), keepalive: await nsSysctl(ns, KEEPALIVE) }).toEqual({ fin: "30", keepalive: "600" });
    expect(Object.fromEntries((s.status?.originals ?? []).map((o) => [o.name, o.value]))).toEqual(originals);
    expect(await stateOriginals()).toEqual(originals);
    // The drift count survived the restarts: it is read back from status.
    expect(s.status?.drift?.count).toBeGreaterThanOrEqual(1);
  });

  it("takes the originals back from status when its state file is lost across a restart", async () => {
    const originals = { [REUSE]: "2", [RANGE]: "32768 60999", [FIN]: "60", [KEEPALIVE]: "7200" };
    expect((await agent?.stop("SIGTERM"))?.code).toBe(0);
    await rm(files.state);
    startAgent();
    const ev = await eventually("an OriginalsRecovered Event", async () => (await eventsFor(NODE)).find((e) => e.reason === "OriginalsRecovered"));
    expect(ev).toMatchObject({ type: "Warning" });
    // Every key reads its desired value now; none of those may be taken for an original.
    expect(await stateOriginals()).toEqual(originals);
    const s = await eventually("status with the recovered originals", async () => {
      const o = await getState(NODE);
      return o.status?.observedGeneration === 2 && o.status.originals?.length === 4 ? o : undefined;
    });
    expect(Object.fromEntries((s.status?.originals ?? []).map((o) => [o.name, o.value]))).toEqual(originals);
  });

  it("restores keys that leave spec, at the new generation", async () => {
    await setSpec([{ name: REUSE, value: "1" }]);
    const s = await eventually("status at generation 3", async () => {
      const o = await getState(NODE);
      return o.status?.observedGeneration === 3 ? o : undefined;
    });
    expect(s.status?.keys?.map((k) => [k.name, k.result])).toEqual([
      [REUSE, "Applied"],
      [RANGE, "Restored"],
      [FIN, "Restored"],
      [KEEPALIVE, "Restored"],
    ]);
    expect({ range: await nsSysctl(ns, RANGE), fin: await nsSysctl(ns, FIN), keepalive: await nsSysctl(ns, KEEPALIVE) }).toEqual({
      range: "32768 60999",
      fin: "60",
      keepalive: "7200",
    });
    expect(s.status?.originals?.map((o) => o.name)).toEqual([REUSE]);
  });

  it("restores every original when its node state is deleted, and stops on SIGTERM without touching anything", async () => {
    await custom.deleteClusterCustomObject({ group: API_GROUP, version: API_VERSION, plural: NODE_STATE_PLURAL, name: NODE });
    // The agent logs the restore after the original left the state file (the kernel is written first).
    await agent?.waitForLog((l) => l.msg === "restored original value" && l["sysctl"] === REUSE);
    expect(await nsSysctl(ns, REUSE)).toBe("2");
    expect(JSON.parse(await readFile(files.state, "utf8"))).toMatchObject({ originals: [] });
    const exit = await agent?.stop("SIGTERM");
    expect(exit?.code).toBe(0);
    expect(await nsSysctl(ns, REUSE)).toBe("2");
  });

  it("left the host's own sysctls untouched", () => {
    expectHostSysctlsUntouched();
  });
});
