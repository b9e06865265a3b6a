import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ApiException, CustomObjectsApi, type KubeConfig } from "@kubernetes/client-node";
import { stringify } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { kubeConfig, kubectl, uniqueName } from "../support/cluster.js";
import { installCrds } from "../support/crds.js";
import { POLICY_REF, alwaysDenied, startTestWebhook, type TestWebhook } from "./webhook-harness.js";

let kc: KubeConfig;
let objects: CustomObjectsApi;
let webhook: TestWebhook;
let dir: string;

const policy = (name: string, sysctls: { name: string; value: string }[]) => ({
  apiVersion: "tcptuning.io/v1alpha1",
  kind: "TcpTuningPolicy",
  metadata: { name },
  spec: { sysctls },
});

async function refusal(run: () => Promise<unknown>): Promise<string | undefined> {
  try {
    await run();
    return undefined;
  } catch (err) {
    if (err instanceof ApiException) return `${err.code} ${String(err.body)}`;
    if (err instanceof Error) return err.message;
    throw err;
  }
}

beforeAll(async () => {
  kc = kubeConfig();
  objects = kc.makeApiClient(CustomObjectsApi);
  await installCrds(kc);
  dir = await mkdtemp(join(tmpdir(), "tt-schema-"));
  webhook = await startTestWebhook(kc);
  // Take the webhook out of the apiserver's path: what is refused now is refused by the CRD alone.
  await webhook.hook.config.delete();
  const deadline = performance.now() + 20_000;
  for (;;) {
    const r = await refusal(() => objects.createClusterCustomObject({ ...POLICY_REF, body: alwaysDenied(uniqueName("nohook")), dryRun: "All" }));
    if (r === undefined) break;
    if (performance.now() > deadline) throw new Error(`the apiserver still calls the deleted webhook: ${r}`);
    await new Promise((res) => setTimeout(res, 100));
  }
});

afterAll(async () => {
  await webhook?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("with the webhook configuration deleted, the CRD schema alone", () => {
  it.each([
    [
      "a duplicate key",
      [
        { name: "net.ipv4.tcp_keepalive_time", value: "300" },
        { name: "net.ipv4.tcp_keepalive_time", value: "600" },
      ],
      /Duplicate value: .*net\.ipv4\.tcp_keepalive_time/,
    ],
    ["a kernel.* key", [{ name: "kernel.pid_max", value: "4194304" }], /sysctl kernel\.pid_max is out of scope/],
    ["a vm.* key", [{ name: "vm.swappiness", value: "10" }], /sysctl vm\.swappiness is out of scope/],
    ["a name with a slash", [{ name: "net/ipv4/tcp_syncookies", value: "1" }], /dotted lowercase words/],
  ])("refuses %s through kubectl apply and through client-node, naming the sysctl", async (_what, sysctls, reason) => {
    const received = webhook.hook.server.latency.count;
    const name = uniqueName("schema");
    const file = join(dir, `${name}.yaml`);
    await writeFile(file, stringify(policy(name, sysctls)));
    const viaKubectl = await refusal(() => kubectl(["apply", "-f", file]));
    expect(viaKubectl).toMatch(/is invalid/);
    expect(viaKubectl).toMatch(reason);
    const viaClient = await refusal(() => objects.createClusterCustomObject({ ...POLICY_REF, body: policy(`${name}-c`, sysctls) }));
    expect(viaClient).toMatch(/^422 /);
    expect(viaClient).toMatch(reason);
    expect(webhook.hook.server.latency.count).toBe(received);
  });

  it("still admits what only the webhook would refuse, which shows the webhook is really out of the path", async () => {
    const name = uniqueName("nohook");
    await objects.createClusterCustomObject({ ...POLICY_REF, body: alwaysDenied(name) });
    const got = (await objects.getClusterCustomObject({ ...POLICY_REF, name })) as { metadata: { name: string } };
    expect(got.metadata.name).toBe(name);
    await objects.deleteClusterCustomObject({ ...POLICY_REF, name });
  });
});
