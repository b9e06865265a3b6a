import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CoreV1Api, type KubeConfig } from "@kubernetes/client-node";
import { stringify } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebhookConfigClient } from "../../src/webhook/config.js";
import { REPO_ROOT } from "../support/control-plane.js";
import { kubeConfig, kubeconfigPath, kubectl, uniqueName } from "../support/cluster.js";
import { installCrds } from "../support/crds.js";
import { freePort } from "../support/ports.js";
import { alwaysDenied, waitUntilEnforced } from "./webhook-harness.js";
import { localWebhookArgs } from "../support/webhook-args.js";

let kc: KubeConfig;
let child: ChildProcess | undefined;
let stderr = "";
let dir: string;
const namespace = uniqueName("tt-webhook-proc");
const configName = uniqueName("tcp-tuning-webhook-proc");

beforeAll(async () => {
  kc = kubeConfig();
  await installCrds(kc);
  await kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: namespace } } });
  dir = await mkdtemp(join(tmpdir(), "tt-webhook-proc-"));
});

afterAll(async () => {
  if (child && child.exitCode === null) child.kill("SIGKILL");
  await new WebhookConfigClient(kc, configName).delete();
  await kc
    .makeApiClient(CoreV1Api)
    .deleteNamespace({ name: namespace })
    .catch(() => undefined);
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("tcp-tuning webhook as a process", () => {
  it("starts from the CLI, refuses and admits through the apiserver, keeps answering for its shutdown delay after SIGTERM, and exits 0", async () => {
    const port = await freePort();
    const args = [
      "bin/tcp-tuning.js",
      "webhook",
      "--kubeconfig",
      kubeconfigPath(),
      ...localWebhookArgs(port, namespace, configName),
      "--shutdown-delay-seconds",
      "3",
      "--metrics-port",
      "0",
      "--metrics-host",
      "127.0.0.1",
    ];
    const proc = spawn(process.execPath, args, { cwd: REPO_ROOT, env: { ...process.env, LOG_FORMAT: "json" }, stdio: ["ignore", "ignore", "pipe"] });
    child = proc;
    proc.stderr?.on("data", (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<number | null>((resolve) => proc.on("exit", (code) => resolve(code)));
    await waitUntilEnforced(kc, 30_000);

    const denied = join(dir, "denied.yaml");
    await writeFile(denied, stringify(alwaysDenied(uniqueName("proc-denied"))));
    await expect(kubectl(["apply", "-f", denied])).rejects.toThrow(
      /denied the request: TcpTuningPolicy ".*" is refused: 1 problem\n- TT006 net\.ipv4\.tcp_syn_retries/,
    );

    const name = uniqueName("proc-allowed");
    const ok = join(dir, "ok.yaml");
    await writeFile(
      ok,
      stringify({
        apiVersion: "tcptuning.io/v1alpha1",
        kind: "TcpTuningPolicy",
        metadata: { name },
        spec: { sysctls: [{ name: "net.ipv4.tcp_keepalive_time", value: "300" }] },
      }),
    );
    const applied = await kubectl(["apply", "-f", ok]);
    expect(applied.stdout).toContain(`tcptuningpolicy.tcptuning.io/${name} created`);
    expect(applied.stderr).toMatch(/^Warning: TT040 net\.ipv4\.tcp_keepalive_time: /m);
    await kubectl(["delete", "ttp", name]);

    const lines = stderr
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as { msg?: string; outcome?: string });
    expect(lines.some((l) => l.msg === "admission" && l.outcome === "denied")).toBe(true);
    expect(lines.some((l) => l.msg === "ValidatingWebhookConfiguration in place")).toBe(true);

    // Terminating, but the Service may still route here: admissions are still answered, not refused by a closed port.
    proc.kill("SIGTERM");
    await new Promise((r) => setTimeout(r, 500));
    expect(proc.exitCode).toBeNull();
    await expect(kubectl(["apply", "--dry-run=server", "-f", denied])).rejects.toThrow(/denied the request: TcpTuningPolicy/);
    const code = await Promise.race([exited, new Promise<string>((r) => setTimeout(() => r("still running after 10 s"), 10_000))]);
    expect(code).toBe(0);
  }, 90_000);
});
