import { spawn } from "node:child_process";
import { AdmissionregistrationV1Api, CoreV1Api, CustomObjectsApi, type KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isNotFound } from "../../src/kube/api-error.js";
import { WebhookConfigClient } from "../../src/webhook/config.js";
import { REPO_ROOT } from "../support/control-plane.js";
import { kubeConfig, kubeconfigPath, uniqueName } from "../support/cluster.js";
import { installCrds } from "../support/crds.js";
import { eventually } from "../support/eventually.js";
import { freePort } from "../support/ports.js";
import { POLICY_REF, alwaysDenied, waitUntilEnforced } from "./webhook-harness.js";
import { localWebhookArgs } from "../support/webhook-args.js";

let kc: KubeConfig;
const cleanups: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  kc = kubeConfig();
  await installCrds(kc);
});

afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
});

/** `tcp-tuning webhook` as a person runs it on a workstation: no pod environment, even when the tests run in one. */
function runWebhookProcess(args: readonly string[]) {
  const env: NodeJS.ProcessEnv = { ...process.env, LOG_FORMAT: "json" };
  delete env["KUBERNETES_SERVICE_HOST"];
  delete env["KUBERNETES_SERVICE_PORT"];
  const proc = spawn(process.execPath, ["bin/tcp-tuning.js", "webhook", "--kubeconfig", kubeconfigPath(), ...args], {
    cwd: REPO_ROOT,
    env,
    stdio: ["ignore", "ignore", "pipe"],
  });
  cleanups.push(async () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGKILL");
  });
  let stderr = "";
  proc.stderr?.on("data", (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number | null>((resolve) => proc.on("exit", (code) => resolve(code)));
  return { proc, exited, stderr: () => stderr };
}

const within = <T>(p: Promise<T>, ms: number, what: string): Promise<T> =>
  Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`${what} not within ${ms} ms`)), ms))]);

describe("tcp-tuning webhook run by a person against a local cluster", () => {
  it("says in one line that its namespace is missing and how to fix it, and exits 1", async () => {
    const namespace = uniqueName("tt-missing");
    const port = await freePort();
    const run = runWebhookProcess([...localWebhookArgs(port, namespace, uniqueName("tt-dev-missing"))]);
    expect(await within(run.exited, 60_000, "exit")).toBe(1);
    const lines = run.stderr().trim().split("\n");
    expect(lines).toEqual([
      `tcp-tuning webhook: namespace "${namespace}" does not exist: the webhook keeps its certificates in Secret ${namespace}/tcp-tuning-webhook-tls; create it (kubectl create namespace ${namespace}) or choose another with --namespace`,
    ]);
  }, 90_000);

  it("removes the configuration it wrote when stopped with Ctrl-C, so a later policy write is not refused", async () => {
    const namespace = uniqueName("tt-dev");
    const core = kc.makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: namespace } } });
    cleanups.push(() => core.deleteNamespace({ name: namespace }));
    const configName = uniqueName("tt-dev-webhook");
    cleanups.push(() => new WebhookConfigClient(kc, configName).delete());
    const port = await freePort();
    const run = runWebhookProcess([...localWebhookArgs(port, namespace, configName), "--shutdown-delay-seconds", "0"]);
    await waitUntilEnforced(kc, 60_000);
    const admission = kc.makeApiClient(AdmissionregistrationV1Api);
    expect((await admission.readValidatingWebhookConfiguration({ name: configName })).webhooks?.[0]?.failurePolicy).toBe("Fail");

    run.proc.kill("SIGINT");
    expect(await within(run.exited, 60_000, "exit after SIGINT")).toBe(0);
    const gone = await admission.readValidatingWebhookConfiguration({ name: configName }).then(
      () => false,
      (err: unknown) => isNotFound(err),
    );
    expect(gone).toBe(true);

    // Not a dry run: the apiserver may still hold the old configuration for a moment, so poll until the write goes through.
    const objects = kc.makeApiClient(CustomObjectsApi);
    const name = uniqueName("after-dev-webhook");
    await eventually(
      "a policy write to be accepted with the webhook stopped",
      () => objects.createClusterCustomObject({ ...POLICY_REF, body: alwaysDenied(name) }).then(() => true),
      30_000,
      200,
    );
    cleanups.push(() => objects.deleteClusterCustomObject({ ...POLICY_REF, name }));
    const lines = run
      .stderr()
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as { msg?: string });
    expect(lines.some((l) => l.msg === "ValidatingWebhookConfiguration removed (run outside a pod)")).toBe(true);
  }, 120_000);
});
