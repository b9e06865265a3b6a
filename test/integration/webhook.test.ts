import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ApiException, CustomObjectsApi, type KubeConfig } from "@kubernetes/client-node";
import { stringify } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isInScope, isWellFormedSysctlName } from "../../src/api/v1alpha1/sysctl-name.js";
import { kubeConfig, kubectl, uniqueName } from "../support/cluster.js";
import { installCrds } from "../support/crds.js";
import { fleetExpected, fleetPolicies, type FleetPolicy } from "../unit/webhook/support/fleet.js";
import { mergePatch } from "../../src/kube/patch.js";
import { POLICY_REF, alwaysDenied, createFleetNodes, deleteNodes, startTestWebhook, waitForNodes, type TestWebhook } from "./webhook-harness.js";

const expected = fleetExpected();
const policies = fleetPolicies();

let kc: KubeConfig;
let objects: CustomObjectsApi;
let webhook: TestWebhook;
let nodeNames: Map<string, string>;
let dir: string;
const suffix = uniqueName("r").slice(2);
/** Policies this file stored, deleted at the end so later test files see a clean cluster. */
const stored: string[] = [];

/** The fleet policy under a name unique to this run, written to a file for kubectl. */
async function renamed(p: FleetPolicy, tag: string): Promise<{ name: string; file: string; doc: Record<string, unknown> }> {
  const name = `${p.name}-${tag}-${suffix}`;
  stored.push(name);
  const doc = { ...p.doc, metadata: { ...p.doc.metadata, name } };
  const file = join(dir, `${name}.yaml`);
  await writeFile(file, stringify(doc));
  return { name, file, doc };
}

/** The apiserver's refusal as text, or undefined when it stored the object. */
async function refusal(run: () => Promise<unknown>): Promise<string | undefined> {
  try {
    await run();
    return undefined;
  } catch (err) {
    if (err instanceof ApiException) return `${err.code} ${typeof err.body === "string" ? err.body : JSON.stringify(err.body)}`;
    if (err instanceof Error) return err.message;
    throw err;
  }
}

/** Whether the CRD's own CEL rules refuse the policy (name grammar, scope) before any webhook is called. */
function schemaRefuses(p: FleetPolicy): boolean {
  const names = (p.doc["spec"] as { sysctls: { name: string }[] }).sysctls.map((s) => s.name);
  return names.some((n) => !isWellFormedSysctlName(n) || !isInScope(n));
}

function checkDenial(policy: string, message: string): void {
  const want = expected[policy];
  const p = policies.find((x) => x.name === policy);
  const sysctls = ((p?.doc["spec"] as { sysctls: { name: string }[] }).sysctls ?? []).map((s) => s.name);
  // Refused by the webhook (403), or earlier by the CRD's own schema (422 Invalid): both name the sysctl.
  expect(message).toMatch(/denied the request|is invalid/);
  expect(sysctls.some((s) => message.includes(s))).toBe(true);
  for (const [node, verdict] of Object.entries(want?.nodes ?? {})) {
    const real = nodeNames.get(node) ?? node;
    if (verdict === "denied") expect(message).toContain(real);
    else expect(message).not.toMatch(new RegExp(`${real}\\b`));
  }
}

beforeAll(async () => {
  kc = kubeConfig();
  objects = kc.makeApiClient(CustomObjectsApi);
  await installCrds(kc);
  dir = await mkdtemp(join(tmpdir(), "tt-webhook-"));
  nodeNames = await createFleetNodes(kc, suffix);
  webhook = await startTestWebhook(kc);
  await waitForNodes(webhook.hook, nodeNames.values());
});

afterAll(async () => {
  await webhook?.close();
  await Promise.all(stored.map((name) => objects.deleteClusterCustomObject({ ...POLICY_REF, name }).catch(() => undefined)));
  if (nodeNames) await deleteNodes(kc, nodeNames.values());
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("the sample fleet's nodes on the real apiserver", () => {
  it("are Node objects whose kernel and OS came in through the status subresource", async () => {
    const out = await kubectl([
      "get",
      "nodes",
      ...nodeNames.values(),
      "-o",
      'jsonpath={range .items[*]}{.metadata.name}={.status.nodeInfo.kernelVersion}/{.status.nodeInfo.operatingSystem}{"\\n"}{end}',
    ]);
    const lines = out.stdout.trim().split("\n");
    expect(lines).toHaveLength(8);
    expect(lines).toContain(`${nodeNames.get("edge-a")}=4.4.0-210-generic/linux`);
    expect(lines).toContain(`${nodeNames.get("win-a")}=10.0.17763.6414/windows`);
  });
});

describe("kubectl apply of every fleet policy through the webhook", () => {
  it.each(policies.map((p) => [p.name, expected[p.name]?.verdict ?? "?", p] as const))("%s is %s", async (name, verdict, p) => {
    const { name: storedName, file } = await renamed(p, "k");
    let result: { stdout: string; stderr: string } | undefined;
    const refused = await refusal(async () => {
      result = await kubectl(["apply", "-f", file]);
    });
    if (verdict === "denied") {
      expect(refused).toBeDefined();
      checkDenial(name, refused ?? "");
      if (schemaRefuses(p)) expect(refused).toMatch(/is invalid: spec\.sysctls\[0\]\.name: Forbidden/);
      else expect(refused).toMatch(/admission webhook "validate\.tcptuning\.io" denied the request: TcpTuningPolicy/);
      await expect(kubectl(["get", "ttp", storedName])).rejects.toThrow(/NotFound/);
    } else {
      expect(refused).toBeUndefined();
      expect(result?.stdout).toMatch(new RegExp(`tcptuningpolicy\\.tcptuning\\.io/${storedName} created`));
      // Warn findings reach the user as kubectl warnings, one short line per kind.
      const warnings = (result?.stderr ?? "").split("\n").filter((l) => l.startsWith("Warning: "));
      expect(warnings.length).toBeGreaterThan(0);
      // A node finding's warning names its nodes after the sysctl: "TT042 net.ipv4.tcp_keepalive_time on app-a +1: ".
      for (const w of warnings) expect(w).toMatch(/^Warning: TT\d{3} net\.\S+( on \S+( \+\d+)?)?: /);
      const got = await kubectl(["get", "ttp", storedName, "-o", "jsonpath={.metadata.name}"]);
      expect(got.stdout).toBe(storedName);
    }
  });
});

describe("@kubernetes/client-node create of every fleet policy through the webhook", () => {
  it.each(policies.map((p) => [p.name, expected[p.name]?.verdict ?? "?", p] as const))("%s is %s", async (name, verdict, p) => {
    const { name: storedName, doc } = await renamed(p, "c");
    let warning: string | undefined;
    const refused = await refusal(async () => {
      const info = await objects.createClusterCustomObjectWithHttpInfo({ ...POLICY_REF, body: doc });
      warning = info.headers["warning"];
    });
    if (verdict === "denied") {
      expect(refused).toMatch(schemaRefuses(p) ? /^422 / : /^403 /);
      checkDenial(name, refused ?? "");
      await expect(objects.getClusterCustomObject({ ...POLICY_REF, name: storedName })).rejects.toMatchObject({ code: 404 });
    } else {
      expect(refused).toBeUndefined();
      expect(warning).toMatch(/^299 - "TT\d{3} /);
      const got = (await objects.getClusterCustomObject({ ...POLICY_REF, name: storedName })) as { metadata: { name: string } };
      expect(got.metadata.name).toBe(storedName);
    }
  });

  it("admits a DryRun policy that Enforce would refuse, with the would-be denials as warnings", async () => {
    const edge = policies.find((p) => p.name === "edge-recycle");
    if (!edge) throw new Error("fleet has no edge-recycle");
    const { doc } = await renamed(edge, "dry");
    const body = { ...doc, spec: { ...(doc["spec"] as object), mode: "DryRun" } };
    const info = await objects.createClusterCustomObjectWithHttpInfo({ ...POLICY_REF, body });
    expect(info.httpStatusCode).toBe(201);
    expect(info.headers["warning"]).toContain(`DryRun, would deny TT010 net.ipv4.tcp_tw_recycle on ${nodeNames.get("edge-a")}`);
  });

  it("judges against nodes that join after the webhook started, from its cache", async () => {
    const before = webhook.hook.server.latency.count;
    const late = `${suffix}-late-edge`;
    const core = (await import("@kubernetes/client-node")).CoreV1Api;
    const api = kc.makeApiClient(core);
    await api.createNode({ body: { metadata: { name: late, labels: { tier: "late", "kubernetes.io/os": "linux", "tcptuning.io/nat": "none" } } } });
    try {
      await api.patchNodeStatus(
        { name: late, body: { status: { nodeInfo: { kernelVersion: "6.6.54-flatcar", operatingSystem: "linux" } } } },
        (await import("../../src/kube/patch.js")).mergePatch(),
      );
      await waitForNodes(webhook.hook, [late]);
      const body = {
        apiVersion: "tcptuning.io/v1alpha1",
        kind: "TcpTuningPolicy",
        metadata: { name: `late-${suffix}` },
        spec: { nodeSelector: { matchLabels: { tier: "late" } }, sysctls: [{ name: "net.ipv4.tcp_tw_reuse_delay", value: "1000" }] },
      };
      const refused = await refusal(() => objects.createClusterCustomObject({ ...POLICY_REF, body, dryRun: "All" }));
      expect(refused).toContain(`on node ${late}`);
      expect(webhook.hook.server.latency.count).toBeGreaterThan(before);
    } finally {
      await deleteNodes(kc, [late]);
    }
  });
});

describe("a policy held by a finalizer while it is being deleted", () => {
  it("cannot take an unsafe spec, and its finalizer can still be removed", async () => {
    const name = `held-${suffix}`;
    stored.push(name);
    const safe = { sysctls: [{ name: "net.ipv4.tcp_keepalive_time", value: "600" }], nodeSelector: { matchLabels: { tier: "no-such-tier" } } };
    await objects.createClusterCustomObject({
      ...POLICY_REF,
      body: { apiVersion: "tcptuning.io/v1alpha1", kind: "TcpTuningPolicy", metadata: { name, finalizers: ["tcptuning.io/test-hold"] }, spec: safe },
    });
    await objects.deleteClusterCustomObject({ ...POLICY_REF, name });
    const held = (await objects.getClusterCustomObject({ ...POLICY_REF, name })) as { metadata: { deletionTimestamp?: string } };
    expect(held.metadata.deletionTimestamp).toBeDefined();
    // The apiserver itself lets a terminating object's spec change: only the webhook stands in the way.
    const unsafe = alwaysDenied(name)["spec"];
    const refused = await refusal(() => objects.patchClusterCustomObject({ ...POLICY_REF, name, body: { spec: unsafe } }, mergePatch()));
    expect(refused).toMatch(/^403 .*denied the request/);
    const after = (await objects.getClusterCustomObject({ ...POLICY_REF, name })) as { spec: unknown };
    expect(after.spec).toMatchObject(safe);
    await objects.patchClusterCustomObject({ ...POLICY_REF, name, body: { metadata: { finalizers: null } } }, mergePatch());
    await expect(objects.getClusterCustomObject({ ...POLICY_REF, name })).rejects.toMatchObject({ code: 404 });
  });
});
