import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, mkdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { CoreV1Api, CustomObjectsApi, type KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { API_GROUP, API_VERSION, POLICY_PLURAL } from "../../src/api/v1alpha1/group.js";
import { kubeConfig, kubeconfigPath, uniqueName } from "../support/cluster.js";
import { ControllerProcess } from "../support/controller-process.js";
import { installCrds } from "../support/crds.js";
import { eventually } from "../support/eventually.js";
import { freePort } from "../support/ports.js";
import { filterExposition, httpGet, parseExposition, promtoolCheck, type MetricFamily } from "../support/prometheus.js";
import { alwaysDenied, startTestWebhook, type TestWebhook } from "./webhook-harness.js";

const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));
const POLICY_REF = { group: API_GROUP, version: API_VERSION, plural: POLICY_PLURAL };
const objects = (kc: KubeConfig) => kc.makeApiClient(CustomObjectsApi);

/** Asserts a family's type and that some sample carries these label names (and values, when given). */
function expectFamily(families: Map<string, MetricFamily>, name: string, type: string, labels: Record<string, string | undefined> = {}): MetricFamily {
  const f = families.get(name);
  expect(f, `${name} is exported`).toBeDefined();
  const family = f as MetricFamily;
  expect(family.type, `${name}'s type`).toBe(type);
  expect(family.help.length, `${name} has help`).toBeGreaterThan(10);
  const match = family.samples.find((s) => Object.entries(labels).every(([k, v]) => (v === undefined ? k in s.labels : s.labels[k] === v)));
  expect(match, `${name} has a sample with ${JSON.stringify(labels)}: ${JSON.stringify(family.samples.slice(0, 3))}`).toBeDefined();
  return family;
}

/** promtool's lint on our own families must pass; prom-client's process metrics are its business. */
async function expectLintClean(text: string): Promise<void> {
  const ours = filterExposition(text, "tcptuning_");
  const lint = await promtoolCheck(ours);
  expect(lint.output.trim(), "promtool check metrics").toBe("");
  expect(lint.code).toBe(0);
}

describe("each component's /metrics, /healthz and /readyz on its plain-HTTP port", () => {
  const kc = kubeConfig();
  let webhook: TestWebhook;

  beforeAll(async () => {
    await installCrds(kc);
    webhook = await startTestWebhook(kc);
  });
  afterAll(async () => {
    await webhook?.close();
  });

  it("webhook: request durations, admissions by outcome, findings by rule, certificate expiry and cache size, lint-clean", async () => {
    const base = `http://127.0.0.1:${webhook.hook.metricsPort}`;
    expect((await httpGet(`${base}/healthz`)).status).toBe(200);
    expect((await httpGet(`${base}/readyz`)).status).toBe(200);
    const objects = kc.makeApiClient(CustomObjectsApi);
    await expect(objects.createClusterCustomObject({ ...POLICY_REF, body: alwaysDenied(uniqueName("metrics-denied")) })).rejects.toThrow();
    const allowed = {
      apiVersion: `${API_GROUP}/${API_VERSION}`,
      kind: "TcpTuningPolicy",
      metadata: { name: uniqueName("metrics-ok") },
      spec: { sysctls: [{ name: "net.ipv4.tcp_keepalive_time", value: "600" }] },
    };
    // Dry run: the webhook judges it all the same, and no policy selecting every node outlives this test
    // (the controller tests that run later on the same control plane would see it).
    await objects.createClusterCustomObject({ ...POLICY_REF, body: allowed, dryRun: "All" });

    const scraped = await eventually("the admissions counted", async () => {
      const r = await httpGet(`${base}/metrics`);
      return /tcptuning_webhook_admissions_total\{outcome="denied"/.test(r.body) ? r : undefined;
    });
    expect(scraped.contentType).toMatch(/^text\/plain/);
    const families = parseExposition(scraped.body);
    expectFamily(families, "tcptuning_webhook_request_duration_seconds", "histogram", { outcome: "denied", le: "0.005" });
    expectFamily(families, "tcptuning_webhook_admissions_total", "counter", { outcome: "denied", component: "webhook" });
    expectFamily(families, "tcptuning_webhook_findings_total", "counter", { rule: "TT006", severity: "deny" });
    const expiry = expectFamily(families, "tcptuning_webhook_certificate_expiry_timestamp_seconds", "gauge", { certificate: "serving" });
    for (const s of expiry.samples) expect(s.value * 1000).toBeGreaterThan(Date.now());
    expectFamily(families, "tcptuning_webhook_cached_nodes", "gauge");
    expectFamily(families, "tcptuning_webhook_node_classes", "gauge");
    expectFamily(families, "process_resident_memory_bytes", "gauge");
    expectFamily(families, "nodejs_eventloop_lag_seconds", "gauge");
    await expectLintClean(scraped.body);
  });

  it("agent: apply results, restores, drift corrections, status writes and the TCP counters it samples, lint-clean", async () => {
    const dir = await mkdtemp(join(tmpdir(), "tt-agent-metrics-"));
    let child: ChildProcess | undefined;
    try {
      const root = join(dir, "sys");
      await mkdir(join(root, "net", "ipv4"), { recursive: true });
      await writeFile(join(root, "net", "ipv4", "tcp_keepalive_time"), "7200\n");
      await writeFile(join(root, "net", "ipv4", "tcp_fin_timeout"), "60\n");
      await mkdir(join(dir, "net"));
      await writeFile(join(dir, "net", "netstat"), "TcpExt: PAWSPassive PAWSActive PAWSEstab TWRecycled TCPTimeWaitOverflow\nTcpExt: 3 0 7 0 2\n");
      await writeFile(join(dir, "net", "sockstat"), "TCP: inuse 5 orphan 0 tw 42 alloc 6 mem 1\n");
      const desired = (sysctls: { name: string; value: string }[]) =>
        JSON.stringify({ metadata: { generation: sysctls.length }, spec: { nodeName: "metrics-node", sysctls: sysctls.map((s) => ({ ...s, policy: "p" })) } });
      await writeFile(
        join(dir, "desired.json"),
        desired([
          { name: "net.ipv4.tcp_keepalive_time", value: "600" },
          { name: "net.ipv4.tcp_fin_timeout", value: "30" },
        ]),
      );
      const port = await freePort();
      const args = [
        "bin/tcp-tuning.js",
        "agent",
        "--node-name",
        "metrics-node",
        "--sysctl-root",
        root,
        "--state-file",
        join(dir, "state.json"),
        "--desired-file",
        join(dir, "desired.json"),
        "--status-file",
        join(dir, "status.json"),
        "--poll-interval",
        "100ms",
        "--drift-interval",
        "300ms",
        "--proc-net",
        join(dir, "net"),
        "--metrics-port",
        String(port),
        "--metrics-host",
        "127.0.0.1",
      ];
      let stderr = "";
      child = spawn(process.execPath, args, { cwd: REPO_ROOT, env: { ...process.env, LOG_FORMAT: "json" }, stdio: ["ignore", "ignore", "pipe"] });
      child.stderr?.on("data", (c: Buffer) => (stderr += c.toString()));
      const base = `http://127.0.0.1:${port}`;
      await eventually(
        "the agent ready",
        async () => ((await httpGet(`${base}/readyz`).catch(() => undefined))?.status === 200 ? true : undefined),
        60_000,
      ).catch((err: Error) => {
        throw new Error(`${err.message}; agent stderr: ${stderr.slice(-2000)}`);
      });
      expect((await httpGet(`${base}/healthz`)).status).toBe(200);
      // Someone changes a key behind the agent's back, then a key is no longer desired.
      await writeFile(join(root, "net", "ipv4", "tcp_fin_timeout"), "45\n");
      await eventually(
        "the drift corrected",
        async () => (/tcptuning_agent_drift_corrections_total\{[^}]*\} [1-9]/.test((await httpGet(`${base}/metrics`)).body) ? true : undefined),
        60_000,
      );
      await writeFile(join(dir, "desired.json"), desired([{ name: "net.ipv4.tcp_keepalive_time", value: "600" }]));
      const scraped = await eventually(
        "the restore counted",
        async () => {
          const r = await httpGet(`${base}/metrics`);
          return /tcptuning_agent_restore_results_total\{[^}]*result="Restored"/.test(r.body) ? r : undefined;
        },
        60_000,
      );
      const families = parseExposition(scraped.body);
      expectFamily(families, "tcptuning_agent_apply_results_total", "counter", { node: "metrics-node", result: "Applied", component: "agent" });
      expectFamily(families, "tcptuning_agent_restore_results_total", "counter", { node: "metrics-node", result: "Restored" });
      expectFamily(families, "tcptuning_agent_drift_corrections_total", "counter", { node: "metrics-node" });
      expectFamily(families, "tcptuning_agent_passes_total", "counter", { outcome: "applied" });
      expectFamily(families, "tcptuning_agent_status_writes_total", "counter", { outcome: "ok" });
      expect(expectFamily(families, "tcptuning_agent_tcp_time_wait_sockets", "gauge", { node: "metrics-node" }).samples[0]?.value).toBe(42);
      expect(expectFamily(families, "tcptuning_agent_tcp_paws_passive_rejected_total", "counter", { node: "metrics-node" }).samples[0]?.value).toBe(3);
      expect(expectFamily(families, "tcptuning_agent_tcp_paws_established_rejected_total", "counter").samples[0]?.value).toBe(7);
      expectFamily(families, "tcptuning_agent_tcp_time_wait_overflow_total", "counter");
      await expectLintClean(scraped.body);
    } finally {
      child?.kill("SIGTERM");
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("controller: reconcile durations, queue depth, retries, leader, rollout progress per policy and nodes per state, lint-clean", async () => {
    const dir = await mkdtemp(join(tmpdir(), "tt-controller-metrics-"));
    const core = kc.makeApiClient(CoreV1Api);
    const node = uniqueName("metrics-node");
    const policyName = uniqueName("metrics-rollout");
    const port = await freePort();
    const controller = ControllerProcess.start(uniqueName("metrics-controller"), dir, [
      "--kubeconfig",
      kubeconfigPath(),
      "--leader-elect",
      "false",
      "--metrics-port",
      String(port),
      "--metrics-host",
      "127.0.0.1",
    ]);
    try {
      await core.createNode({
        body: {
          metadata: { name: node, labels: { "kubernetes.io/os": "linux", tier: "metrics" } },
          status: { nodeInfo: { kernelVersion: "6.6.54-flatcar", operatingSystem: "linux" } },
        } as never,
      });
      const objects = kc.makeApiClient(CustomObjectsApi);
      await objects.createClusterCustomObject({
        ...POLICY_REF,
        body: {
          apiVersion: `${API_GROUP}/${API_VERSION}`,
          kind: "TcpTuningPolicy",
          metadata: { name: policyName },
          spec: { nodeSelector: { matchLabels: { tier: "metrics" } }, sysctls: [{ name: "net.ipv4.tcp_keepalive_time", value: "600" }] },
        },
      });
      const base = `http://127.0.0.1:${port}`;
      const scraped = await eventually(
        "the policy's rollout in the controller's metrics",
        async () => {
          const r = await httpGet(`${base}/metrics`).catch(() => undefined);
          // The plan (sync) names the policy's nodes; the node state is applied by a later reconcile.
          return r &&
            new RegExp(`tcptuning_controller_policy_nodes\\{[^}]*policy="${policyName}"`).test(r.body) &&
            /tcptuning_controller_reconcile_duration_seconds_count\{[^}]*controller="node-state"/.test(r.body)
            ? r
            : undefined;
        },
        90_000,
      ).catch(async (err: Error) => {
        throw new Error(
          `${err.message}; controller log: ${(await controller.logs())
            .slice(-10)
            .map((l) => l.msg)
            .join(" | ")}`,
        );
      });
      expect((await httpGet(`${base}/healthz`)).status).toBe(200);
      expect((await httpGet(`${base}/readyz`)).status).toBe(200);
      const families = parseExposition(scraped.body);
      expectFamily(families, "tcptuning_controller_reconcile_duration_seconds", "histogram", {
        controller: "sync",
        result: "success",
        component: "controller",
      });
      expectFamily(families, "tcptuning_controller_reconcile_duration_seconds", "histogram", { controller: "node-state" });
      expectFamily(families, "tcptuning_controller_queue_depth", "gauge", { controller: "controller" });
      expectFamily(families, "tcptuning_controller_retries_total", "counter", { controller: "node-state" });
      expect(expectFamily(families, "tcptuning_controller_leader", "gauge").samples[0]?.value).toBe(1);
      expectFamily(families, "tcptuning_controller_policy_nodes", "gauge", { policy: policyName, state: "Pending" });
      const progress = expectFamily(families, "tcptuning_controller_rollout_progress_ratio", "gauge", { policy: policyName });
      expect(progress.samples.find((x) => x.labels["policy"] === policyName)?.value).toBe(0); // no agent runs here
      expectFamily(families, "tcptuning_controller_node_states", "gauge", { state: undefined });
      await expectLintClean(scraped.body);
    } finally {
      await controller.stop();
      await objects(kc)
        .deleteClusterCustomObject({ ...POLICY_REF, name: policyName })
        .catch(() => undefined);
      await core.deleteNode({ name: node }).catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    }
  });
});
