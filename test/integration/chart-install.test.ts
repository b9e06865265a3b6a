import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AdmissionregistrationV1Api, ApiException, CoordinationV1Api, CoreV1Api, CustomObjectsApi, KubeConfig, type V1Pod } from "@kubernetes/client-node";
import { stringify } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { API_GROUP, API_VERSION, NODE_STATE_PLURAL } from "../../src/api/v1alpha1/group.js";
import { jsonPatch, mergePatch } from "../../src/kube/patch.js";
import { kubeConfig, kubeconfigPath, kubectl, uniqueName } from "../support/cluster.js";
import { REPO_ROOT } from "../support/control-plane.js";
import { installCrds } from "../support/crds.js";
import { eventually } from "../support/eventually.js";
import { CHART_DIR, helm, only, renderChart, type Rendered } from "../support/helm.js";
import { freePort } from "../support/ports.js";
import { ProcessGroup } from "../support/process-group.js";
import { serviceAccountKubeconfig } from "../support/service-account.js";
import { alwaysDenied, POLICY_REF, waitUntilEnforced } from "./webhook-harness.js";

// The chart on the real control plane (kube-controller-manager and kube-scheduler included):
// server-side applied as rendered, then exercised with the identities it creates.

const release = "tcp-tuning";
const namespace = uniqueName("ttp-chart");
const tag = namespace.slice(-8);
const linuxNodes = [`chart-${tag}-a`, `chart-${tag}-b`];
const windowsNode = `chart-${tag}-win`;
let kc: KubeConfig;
let dir: string;
let objects: Rendered[];
const processes: ProcessGroup[] = [];

const name = (component: string): string => `tcp-tuning-operator-${component}`;
const nodeStates = (config: KubeConfig) => config.makeApiClient(CustomObjectsApi);

async function createNode(nodeName: string, os: "linux" | "windows"): Promise<void> {
  const core = kc.makeApiClient(CoreV1Api);
  await core.createNode({
    body: {
      metadata: {
        name: nodeName,
        labels: { "kubernetes.io/os": os, "kubernetes.io/hostname": nodeName, "topology.kubernetes.io/zone": "zone-a", "chart-test": tag },
      },
    },
  });
  // Status only through the status subresource: what the scheduler needs to place pods.
  const capacity = { cpu: "4", memory: "8Gi", pods: "110" };
  await core.patchNodeStatus(
    {
      name: nodeName,
      body: {
        status: {
          capacity,
          allocatable: capacity,
          conditions: [
            { type: "Ready", status: "True", reason: "KubeletReady", message: "test node", lastHeartbeatTime: new Date(), lastTransitionTime: new Date() },
          ],
          nodeInfo: {
            kernelVersion: "6.8.0",
            osImage: "test",
            operatingSystem: os,
            architecture: "amd64",
            containerRuntimeVersion: "none://0",
            kubeletVersion: "v1.37.2",
            kubeProxyVersion: "",
            machineID: "",
            systemUUID: "",
            bootID: "",
          },
        },
      },
    },
    mergePatch(),
  );
}

async function forbiddenMessage(write: Promise<unknown>): Promise<string> {
  try {
    await write;
  } catch (err) {
    if (err instanceof ApiException && err.code === 403) return String(err.body);
    throw err;
  }
  throw new Error("the write was admitted");
}

beforeAll(async () => {
  kc = kubeConfig();
  await installCrds(kc);
  dir = await mkdtemp(join(tmpdir(), "ttp-chart-"));
  for (const n of linuxNodes) await createNode(n, "linux");
  await createNode(windowsNode, "windows");
  objects = await renderChart({ release, namespace, setJson: ["namespace.create=true"] });
});

afterAll(async () => {
  await Promise.all(processes.map((p) => p.stop()));
  // Everything but the CRDs (other test files share them); the webhook configuration first, so no later write waits on it.
  const admission = kc.makeApiClient(AdmissionregistrationV1Api);
  await admission.deleteValidatingWebhookConfiguration({ name: `tcp-tuning-operator-${namespace}` }).catch(() => undefined);
  const rest = objects.filter((o) => o.kind !== "CustomResourceDefinition");
  await kubectl(["delete", "--ignore-not-found", "--wait=false", "-f", "-"], { input: rest.map((o) => stringify(o)).join("---\n"), timeoutMs: 60_000 }).catch(
    () => undefined,
  );
  const core = kc.makeApiClient(CoreV1Api);
  for (const n of [...linuxNodes, windowsNode]) await core.deleteNode({ name: n }).catch(() => undefined);
  for (const n of linuxNodes)
    await nodeStates(kc)
      .deleteClusterCustomObject({ group: API_GROUP, version: API_VERSION, plural: NODE_STATE_PLURAL, name: n })
      .catch(() => undefined);
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("the Helm chart on a real control plane", () => {
  it("is accepted whole by server-side apply", async () => {
    const input = objects.map((o) => stringify(o)).join("---\n");
    const { stdout } = await kubectl(["apply", "--server-side", "--force-conflicts", "--field-manager=helm-chart-test", "-f", "-"], {
      input,
      timeoutMs: 120_000,
    });
    const applied = stdout
      .trim()
      .split("\n")
      .filter((l) => l.endsWith("serverside-applied"));
    expect(applied).toHaveLength(objects.length);
  });

  it("makes the DaemonSet create one agent pod per Linux node and none on the Windows node", async () => {
    const core = kc.makeApiClient(CoreV1Api);
    const selector = `app.kubernetes.io/instance=${release},app.kubernetes.io/component=agent`;
    const pods = await eventually(
      "one scheduled agent pod on each Linux node",
      async () => {
        const list = (await core.listNamespacedPod({ namespace, labelSelector: selector })).items;
        const byNode = (n: string): V1Pod[] => list.filter((p) => p.spec?.nodeName === n);
        return linuxNodes.every((n) => byNode(n).length === 1) ? list : undefined;
      },
      90_000,
      250,
    );
    expect(pods.filter((p) => p.spec?.nodeName === windowsNode)).toEqual([]);
    for (const p of pods.filter((p) => linuxNodes.includes(p.spec?.nodeName ?? ""))) {
      expect(p.metadata?.ownerReferences?.[0]).toMatchObject({ kind: "DaemonSet", name: name("agent") });
      expect(p.spec).toMatchObject({ hostNetwork: true, priorityClassName: "system-node-critical", serviceAccountName: name("agent") });
    }
  });

  it("lets an agent write the status of its own node's state and refuses it another node's (token bound to its pod on node A)", async () => {
    const admin = nodeStates(kc);
    for (const n of linuxNodes) {
      await admin.createClusterCustomObject({
        group: API_GROUP,
        version: API_VERSION,
        plural: NODE_STATE_PLURAL,
        body: { apiVersion: `${API_GROUP}/${API_VERSION}`, kind: "TcpTuningNodeState", metadata: { name: n }, spec: { nodeName: n } },
      });
    }
    const core = kc.makeApiClient(CoreV1Api);
    const podOnA = (await core.listNamespacedPod({ namespace, labelSelector: "app.kubernetes.io/component=agent" })).items.find(
      (p) => p.spec?.nodeName === linuxNodes[0],
    );
    expect(podOnA?.metadata?.uid).toBeTruthy();
    const agentA = new KubeConfig();
    agentA.loadFromFile(
      await serviceAccountKubeconfig(kc, namespace, name("agent"), dir, { boundPod: { name: podOnA!.metadata!.name!, uid: podOnA!.metadata!.uid! } }),
    );
    const asAgent = nodeStates(agentA);
    const status = { observedGeneration: 1, conditions: [] };
    const patch = (node: string) =>
      asAgent.patchClusterCustomObjectStatus({ group: API_GROUP, version: API_VERSION, plural: NODE_STATE_PLURAL, name: node, body: { status } }, mergePatch());

    await expect(patch(linuxNodes[0]!)).resolves.toMatchObject({ status: { observedGeneration: 1 } });
    // The API server loads a new admission policy asynchronously: wait until it is in force.
    const refused = await eventually("the own-node policy to refuse node B's write", () => forbiddenMessage(patch(linuxNodes[1]!)), 60_000, 250);
    expect(refused).toContain(`the agent on node ${linuxNodes[0]} may only write the TcpTuningNodeState of its own node, not ${linuxNodes[1]}`);
    // RBAC alone: the agent reads states but may not change their spec, nor create or delete one.
    await expect(
      asAgent.getClusterCustomObject({ group: API_GROUP, version: API_VERSION, plural: NODE_STATE_PLURAL, name: linuxNodes[1]! }),
    ).resolves.toBeTruthy();
    await forbiddenMessage(
      asAgent.patchClusterCustomObject(
        { group: API_GROUP, version: API_VERSION, plural: NODE_STATE_PLURAL, name: linuxNodes[0]!, body: { spec: { sysctls: [] } } },
        mergePatch(),
      ),
    );

    // A token of the same ServiceAccount bound to no pod carries no node: refused everywhere.
    const unbound = new KubeConfig();
    unbound.loadFromFile(await serviceAccountKubeconfig(kc, namespace, name("agent"), dir));
    const noNode = await forbiddenMessage(
      nodeStates(unbound).patchClusterCustomObjectStatus(
        { group: API_GROUP, version: API_VERSION, plural: NODE_STATE_PLURAL, name: linuxNodes[0]!, body: { status } },
        mergePatch(),
      ),
    );
    expect(noNode).toContain("not bound to a node");
  });

  it("runs the webhook as a local process with the chart's ServiceAccount and exactly its RBAC: certificates, caBundle, node cache, a refusal", async () => {
    const deployment = only(objects, "Deployment", "-webhook");
    const chartArgs = ((deployment["spec"] as any).template.spec.containers[0].args as string[]).filter(
      (a) => !a.startsWith("--port") && !a.startsWith("--metrics-port"),
    );
    const port = await freePort();
    const identity = await serviceAccountKubeconfig(kc, namespace, name("webhook"), dir);
    // No kube-proxy or pod network here: the apiserver reaches the process at 127.0.0.1 instead of
    // through the chart's Service, so the chart's configuration is pointed there (caBundle left to the webhook).
    const admission = kc.makeApiClient(AdmissionregistrationV1Api);
    const configName = `tcp-tuning-operator-${namespace}`;
    await admission.patchValidatingWebhookConfiguration(
      { name: configName, body: [{ op: "replace", path: "/webhooks/0/clientConfig", value: { url: `https://127.0.0.1:${port}/validate` } }] },
      jsonPatch(),
    );
    const webhook = new ProcessGroup({
      name: "webhook",
      command: process.execPath,
      args: [
        join(REPO_ROOT, "bin", "tcp-tuning.js"),
        ...chartArgs,
        "--kubeconfig",
        identity,
        "--port",
        String(port),
        "--host",
        "127.0.0.1",
        "--ip",
        "127.0.0.1",
      ],
      env: { ...process.env, POD_NAMESPACE: namespace, LOG_FORMAT: "json" },
      logFile: join(dir, "webhook.log"),
    });
    processes.push(webhook);
    await eventually(
      "the webhook to inject its CA into the chart's configuration",
      async () => {
        const c = await admission.readValidatingWebhookConfiguration({ name: configName });
        return c.webhooks?.[0]?.clientConfig.caBundle ? c : undefined;
      },
      90_000,
      250,
    );
    await waitUntilEnforced(kc, 60_000);
    const refused = await kc
      .makeApiClient(CustomObjectsApi)
      .createClusterCustomObject({ ...POLICY_REF, body: alwaysDenied(uniqueName("chart-denied")) })
      .then(
        () => "admitted",
        (err: unknown) => (err instanceof ApiException ? String(err.body) : String(err)),
      );
    expect(refused).toContain("is refused");
    const secret = await kc.makeApiClient(CoreV1Api).readNamespacedSecret({ name: `${name("webhook")}-tls`, namespace });
    expect(Object.keys(secret.data ?? {}).length).toBeGreaterThan(0);
  });
});

describe("the controller with the chart's identity", () => {
  it("runs as a local process with exactly the chart's RBAC: takes its Lease, writes node states and policy status", async () => {
    const deployment = only(objects, "Deployment", "-controller");
    const chartArgs = (deployment["spec"] as { template: { spec: { containers: { args: string[] }[] } } }).template.spec.containers[0]!.args.filter(
      (a) => !a.startsWith("--metrics-port"),
    );
    const identity = await serviceAccountKubeconfig(kc, namespace, name("controller"), dir);
    const controller = new ProcessGroup({
      name: "controller",
      tailLines: 30,
      command: process.execPath,
      args: [join(REPO_ROOT, "bin", "tcp-tuning.js"), ...chartArgs, "--kubeconfig", identity],
      env: { ...process.env, POD_NAMESPACE: namespace, POD_NAME: "controller-0", LOG_FORMAT: "json" },
      logFile: join(dir, "controller.log"),
    });
    processes.push(controller);
    const policy = uniqueName("chart-controller");
    const custom = kc.makeApiClient(CustomObjectsApi);
    await custom.createClusterCustomObject({
      ...POLICY_REF,
      body: {
        apiVersion: `${API_GROUP}/${API_VERSION}`,
        kind: "TcpTuningPolicy",
        metadata: { name: policy },
        spec: { nodeSelector: { matchLabels: { "chart-test": tag } }, sysctls: [{ name: "net.ipv4.tcp_keepalive_time", value: "600" }] },
      },
    });
    try {
      for (const node of linuxNodes) {
        await eventually(
          `the controller to put the key into ${node}'s state`,
          async () => {
            const state = (await custom.getClusterCustomObject({ group: API_GROUP, version: API_VERSION, plural: NODE_STATE_PLURAL, name: node })) as {
              spec?: { sysctls?: { name: string; value: string }[] };
            };
            return state.spec?.sysctls?.some((k) => k.name === "net.ipv4.tcp_keepalive_time" && k.value === "600") ? state : undefined;
          },
          90_000,
          250,
        ).catch(async (err: unknown) => {
          throw new Error(`${(err as Error).message}; controller log:\n${(await readFile(controller.logFile, "utf8")).slice(-4000)}`);
        });
      }
      const status = await eventually(
        "the controller to write the policy's status",
        async () => {
          const p = (await custom.getClusterCustomObject({ ...POLICY_REF, name: policy })) as {
            metadata: { generation: number };
            status?: { observedGeneration?: number; conditions?: { type: string; status: string }[] };
          };
          return p.status?.observedGeneration === p.metadata.generation && p.status.conditions?.some((c) => c.type === "Accepted") ? p.status : undefined;
        },
        90_000,
        250,
      ).catch(async (err: unknown) => {
        const p = await custom.getClusterCustomObject({ ...POLICY_REF, name: policy });
        throw new Error(
          `${(err as Error).message}; policy: ${JSON.stringify(p)}; controller log:\n${(await readFile(controller.logFile, "utf8")).slice(-3000)}`,
        );
      });
      expect(status.conditions?.find((c) => c.type === "Accepted")?.status).toBe("True");
      const lease = await kc.makeApiClient(CoordinationV1Api).readNamespacedLease({ name: name("controller"), namespace });
      expect(lease.spec?.holderIdentity).toBe("controller-0");
      const log = await readFile(controller.logFile, "utf8");
      expect(log.split("\n").filter((l) => /forbidden/i.test(l))).toEqual([]);
    } finally {
      await custom.patchClusterCustomObject({ ...POLICY_REF, name: policy, body: { metadata: { finalizers: null } } }, mergePatch()).catch(() => undefined);
      await custom.deleteClusterCustomObject({ ...POLICY_REF, name: policy }).catch(() => undefined);
    }
  }, 240_000);
});

describe("helm install and uninstall", () => {
  const ns = uniqueName("ttp-helm");
  const rel = "ttp";
  beforeAll(async () => {
    await kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: ns, labels: { "pod-security.kubernetes.io/enforce": "privileged" } } } });
  });
  afterAll(async () => {
    await helm(["uninstall", rel, "--namespace", ns], { kubeconfig: kubeconfigPath() });
    await kc
      .makeApiClient(CoreV1Api)
      .deleteNamespace({ name: ns })
      .catch(() => undefined);
  });

  it("refuses to install into a namespace whose Pod Security level would reject the agent", async () => {
    const strict = uniqueName("ttp-strict");
    await kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: strict, labels: { "pod-security.kubernetes.io/enforce": "restricted" } } } });
    try {
      const r = await helm(["install", rel, CHART_DIR, "--namespace", strict, "--set", "crds.install=false"], {
        kubeconfig: kubeconfigPath(),
        timeoutMs: 120_000,
      });
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain(`kubectl label namespace ${strict} pod-security.kubernetes.io/enforce=privileged`);
    } finally {
      await kc
        .makeApiClient(CoreV1Api)
        .deleteNamespace({ name: strict })
        .catch(() => undefined);
    }
  });

  it("installs, and uninstall leaves no webhook configuration or admission policy behind", async () => {
    const install = await helm(["install", rel, CHART_DIR, "--namespace", ns, "--set", "crds.install=false"], {
      kubeconfig: kubeconfigPath(),
      timeoutMs: 120_000,
    });
    expect(install.stderr).toBe("");
    expect(install.code).toBe(0);
    expect(install.stdout).toContain("STATUS: deployed");
    const admission = kc.makeApiClient(AdmissionregistrationV1Api);
    const ours = async () => ({
      webhooks: (await admission.listValidatingWebhookConfiguration({ labelSelector: `app.kubernetes.io/instance=${rel}` })).items.filter((c) =>
        c.metadata?.name?.endsWith(ns),
      ),
      policies: (await admission.listValidatingAdmissionPolicy({ labelSelector: `app.kubernetes.io/instance=${rel}` })).items.filter((c) =>
        c.metadata?.name?.endsWith(ns),
      ),
    });
    const installed = await ours();
    expect(installed.webhooks).toHaveLength(1);
    expect(installed.policies).toHaveLength(1);

    const uninstall = await helm(["uninstall", rel, "--namespace", ns, "--wait"], { kubeconfig: kubeconfigPath(), timeoutMs: 120_000 });
    expect(uninstall.code).toBe(0);
    expect(await ours()).toEqual({ webhooks: [], policies: [] });
    // Nothing blocks policy writes afterwards.
    const body = {
      apiVersion: `${API_GROUP}/${API_VERSION}`,
      kind: "TcpTuningPolicy",
      metadata: { name: uniqueName("after-uninstall") },
      spec: { sysctls: [{ name: "net.ipv4.tcp_keepalive_time", value: "600" }] },
    };
    await expect(kc.makeApiClient(CustomObjectsApi).createClusterCustomObject({ ...POLICY_REF, body, dryRun: "All" })).resolves.toBeTruthy();
  });
});
