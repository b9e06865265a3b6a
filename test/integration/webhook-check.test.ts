import { mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ApiException, CustomObjectsApi, type KubeConfig } from "@kubernetes/client-node";
import { parseAllDocuments, stringify } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../../src/cli/main.js";
import { checkJsonSchema } from "../../src/cli/output/json.js";
import { REPO_ROOT } from "../support/control-plane.js";
import { kubeConfig, kubectl, uniqueName } from "../support/cluster.js";
import { installCrds } from "../support/crds.js";
import { fleetPolicies } from "../unit/webhook/support/fleet.js";
import { POLICY_REF, createFleetNodes, deleteNodes, startTestWebhook, waitForNodes, type TestWebhook } from "./webhook-harness.js";

let kc: KubeConfig;
let objects: CustomObjectsApi;
let webhook: TestWebhook;
let nodeNames: Map<string, string>;
let dir: string;
let nodesFile: string;
const suffix = uniqueName("v").slice(2);

const extra = (name: string, selector: Record<string, string>, sysctls: [string, string][]) => ({
  apiVersion: "tcptuning.io/v1alpha1",
  kind: "TcpTuningPolicy",
  metadata: { name },
  spec: { nodeSelector: { matchLabels: selector }, sysctls: sysctls.map(([n, v]) => ({ name: n, value: v })) },
});

/** Enforce policies only: a DryRun policy is admitted by design while check reports its verdict. */
async function corpus(): Promise<{ name: string; doc: Record<string, unknown> }[]> {
  const docs: Record<string, unknown>[] = fleetPolicies().map((p) => p.doc);
  const examples = join(REPO_ROOT, "examples", "policies");
  for (const f of (await readdir(examples)).sort()) {
    const text = await readFile(join(examples, f), "utf8");
    const found = f.endsWith(".json") ? [JSON.parse(text) as unknown].flat() : parseAllDocuments(text).map((d) => d.toJS() as unknown);
    for (const d of found) if (d && typeof d === "object" && (d as { kind?: unknown }).kind === "TcpTuningPolicy") docs.push(d as Record<string, unknown>);
  }
  docs.push(
    extra("loopback-reuse-on-app", { tier: "app" }, [["net.ipv4.tcp_tw_reuse", "2"]]),
    extra("somaxconn-edge", { tier: "edge" }, [["net.core.somaxconn", "100000"]]),
    extra("wide-ports-app", { tier: "app" }, [["net.ipv4.ip_local_port_range", "1024 65535"]]),
    extra("short-retries", {}, [["net.ipv4.tcp_retries2", "5"]]),
    extra("recycle-zero-edge", { tier: "edge" }, [["net.ipv4.tcp_tw_recycle", "0"]]),
  );
  return docs
    .filter((d) => (d["spec"] as { mode?: string } | undefined)?.mode !== "DryRun")
    .map((d) => ({ name: (d["metadata"] as { name: string }).name, doc: d }));
}

/** `tcp-tuning check --nodes FILE --output json FILE`, run in-process; returns its verdict and denied nodes. */
async function check(doc: Record<string, unknown>): Promise<{ code: number; verdict: string; deniedNodes: string[] }> {
  const file = join(dir, `${uniqueName("p")}.yaml`);
  await writeFile(file, stringify(doc));
  let out = "";
  let err = "";
  const code = await runCli(["check", "--nodes", nodesFile, "--output", "json", file], {
    stdout: { write: (t) => void (out += t), isTTY: false },
    stderr: { write: (t) => void (err += t), isTTY: false },
    readStdin: async () => "",
    env: {},
    cwd: dir,
  });
  if (code === 2) throw new Error(`check could not read its input: ${err}`);
  const report = checkJsonSchema.parse(JSON.parse(out));
  const [policy] = report.policies;
  if (!policy) throw new Error("check reported no policy");
  return { code, verdict: policy.verdict, deniedNodes: policy.nodes.filter((n) => n.verdict === "denied").map((n) => n.node) };
}

/** What admission says of the policy, through the apiserver (server-side dry run: nothing is stored). */
async function admission(doc: Record<string, unknown>): Promise<{ verdict: string; message: string }> {
  try {
    await objects.createClusterCustomObject({ ...POLICY_REF, body: doc, dryRun: "All" });
    return { verdict: "allowed", message: "" };
  } catch (err) {
    if (err instanceof ApiException && (err.code === 403 || err.code === 422)) return { verdict: "denied", message: String(err.body) };
    throw err;
  }
}

beforeAll(async () => {
  kc = kubeConfig();
  objects = kc.makeApiClient(CustomObjectsApi);
  await installCrds(kc);
  dir = await mkdtemp(join(tmpdir(), "tt-webhook-check-"));
  nodeNames = await createFleetNodes(kc, suffix);
  webhook = await startTestWebhook(kc);
  await waitForNodes(webhook.hook, nodeNames.values());
  // Every node the apiserver has, as `kubectl get nodes -o yaml` prints it: the webhook sees the same ones.
  nodesFile = join(dir, "nodes.yaml");
  await writeFile(nodesFile, (await kubectl(["get", "nodes", "-o", "yaml"])).stdout);
});

afterAll(async () => {
  await webhook?.close();
  if (nodeNames) await deleteNodes(kc, nodeNames.values());
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("the webhook and tcp-tuning check", () => {
  it("give the same verdict for every policy of the fleet, the examples and more, on the same nodes", async () => {
    const policies = await corpus();
    expect(policies.length).toBeGreaterThanOrEqual(15);
    const rows: string[] = [];
    for (const { name, doc } of policies) {
      const [cli, hook] = await Promise.all([check(doc), admission(doc)]);
      rows.push(`${name}: check=${cli.verdict} webhook=${hook.verdict}`);
      expect(`${name}: ${hook.verdict}`).toBe(`${name}: ${cli.verdict}`);
      expect(cli.code).toBe(cli.verdict === "denied" ? 1 : 0);
      // The nodes check denies are the nodes the webhook's message names.
      for (const node of cli.deniedNodes) expect(hook.message).toContain(node);
    }
    const verdicts = new Set(rows.map((r) => r.split("=").at(-1)));
    expect(verdicts).toEqual(new Set(["allowed", "denied"]));
  });
});
