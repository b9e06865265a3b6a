/**
 * `tsx bench/apiserver.ts [--full]`: policy creates through a real kube-apiserver (test/support's
 * control plane) with (a) our webhook registered, (b) a no-op AdmissionReview webhook registered in its
 * place, (c) no webhook, interleaved request by request (each configuration selects its own objects by
 * label, so all three are registered at once and compared under the same load). Our webhook runs as its
 * own process, compiled, with N Nodes in the API server (realistic size: images, conditions) read
 * through its informers; its RSS is read from /proc once it has cached them all.
 * Prints a table and writes JSON. A script, not a test.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { AdmissionregistrationV1Api, CoreV1Api, CustomObjectsApi, KubeConfig } from "@kubernetes/client-node";
import { API_GROUP, API_VERSION, POLICY_PLURAL } from "../src/api/v1alpha1/group.js";
import { createCa, issueServingCert } from "../src/certs/index.js";
import { webhookConfiguration } from "../src/webhook/config.js";
import { ControlPlane } from "../test/support/control-plane.js";
import { installCrds } from "../test/support/crds.js";
import { freePort } from "../test/support/ports.js";
import { webhookChartEnv } from "./support/chart-env.js";
import { createNodes } from "./support/nodes.js";
import { compileTargets, cpuMs, loadAverage, rssMiB, spread, startCli, startTarget, stop, table } from "./support/proc.js";
import { localWebhookArgs } from "../test/support/webhook-args.js";

const { values } = parseArgs({
  options: {
    full: { type: "boolean", default: false },
    nodes: { type: "string" },
    creates: { type: "string" },
    runs: { type: "string" },
    json: { type: "string" },
  },
});
const FULL = values.full;
const NODES = Number(values.nodes ?? (FULL ? "5000" : "200"));
const CREATES = Number(values.creates ?? (FULL ? "150" : "20"));
const RUNS = Number(values.runs ?? (FULL ? "3" : "1"));
const JSON_OUT = values.json ?? (FULL ? "docs/bench/apiserver.json" : "bench/results/apiserver.json");
const ROOT = fileURLToPath(new URL("../", import.meta.url));
const POLICY_REF = { group: API_GROUP, version: API_VERSION, plural: POLICY_PLURAL };
const KINDS = ["ours", "noop", "none"] as const;

const pct = (xs: readonly number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? NaN;
};

async function main(): Promise<void> {
  const supportDir = await compileTargets(ROOT);
  const load0 = loadAverage();
  const plane = await ControlPlane.start({});
  const dir = mkdtempSync(join(os.tmpdir(), "tt-bench-apiserver-"));
  const children: Awaited<ReturnType<typeof startTarget>>["child"][] = [];
  try {
    const kc = new KubeConfig();
    kc.loadFromFile(plane.kubeconfigPath);
    await installCrds(kc);
    const core = kc.makeApiClient(CoreV1Api);
    const createNodesS = (await createNodes(core, { count: NODES })).seconds;
    process.stdout.write(`created ${NODES} nodes in ${createNodesS.toFixed(0)} s\n`);

    // The no-op webhook, with a CA of its own.
    const now = new Date();
    const life = { validityMs: 24 * 3600 * 1000, backdateMs: 60_000 };
    const ca = await createCa(now, life);
    const serving = await issueServingCert(ca, { dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"] }, now, life);
    writeFileSync(join(dir, "tls.crt"), serving.certPem);
    writeFileSync(join(dir, "tls.key"), serving.keyPem);
    const noop = await startTarget<{ port: number }>(join(supportDir, "webhook-target.js"), ["noop", "--cert", dir]);
    children.push(noop.child);

    // Our webhook: the real command, compiled, managing its own configuration.
    const port = await freePort();
    const chartEnv = webhookChartEnv(ROOT);
    const { child: ours, stderr } = startCli(
      ROOT,
      [
        "webhook",
        "--kubeconfig",
        plane.kubeconfigPath,
        ...localWebhookArgs(port, "default", "bench-ours"),
        "--metrics-port",
        "0",
        "--metrics-host",
        "127.0.0.1",
      ],
      // With the chart's environment for the webhook (V8's young generation, malloc arenas), as in a cluster.
      { env: { ...chartEnv, LOG_LEVEL: "warn" } },
    );
    children.push(ours);
    const admission = kc.makeApiClient(AdmissionregistrationV1Api);
    const t0 = performance.now();
    for (;;) {
      const c = await admission.readValidatingWebhookConfiguration({ name: "bench-ours" }).catch(() => undefined);
      if (c) break;
      if (performance.now() - t0 > 300_000 || ours.exitCode !== null) throw new Error(`our webhook did not start: ${stderr().slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    const syncS = (performance.now() - t0) / 1000;
    const oursPid = ours.pid as number;
    const rssSynced = rssMiB(oursPid);
    // V8 hands memory freed after the initial LIST back to the system only once the process idles.
    await new Promise((r) => setTimeout(r, 20_000));
    const rssSettled = rssMiB(oursPid);
    // Each configuration judges only objects labelled for it.
    const select = (kind: string) => ({ objectSelector: { matchLabels: { bench: kind } } });
    const oursConfig = await admission.readValidatingWebhookConfiguration({ name: "bench-ours" });
    await admission.replaceValidatingWebhookConfiguration({
      name: "bench-ours",
      body: { ...oursConfig, webhooks: (oursConfig.webhooks ?? []).map((w) => ({ ...w, ...select("ours") })) },
    });
    const noopConfig = webhookConfiguration({ name: "bench-noop", endpoint: { url: `https://127.0.0.1:${noop.info.port}/validate` }, caBundle: [ca.certPem] });
    await admission.createValidatingWebhookConfiguration({
      body: { ...noopConfig, webhooks: (noopConfig.webhooks ?? []).map((w) => ({ ...w, ...select("noop") })) },
    });

    const objects = kc.makeApiClient(CustomObjectsApi);
    const policy = (kind: string, n: number) => ({
      apiVersion: `${API_GROUP}/${API_VERSION}`,
      kind: "TcpTuningPolicy",
      metadata: { name: `bench-${kind}-${n}`, labels: { bench: kind } },
      spec: {
        nodeSelector: { matchLabels: { tier: "edge" } },
        sysctls: [
          { name: "net.ipv4.tcp_tw_reuse", value: "1" },
          { name: "net.ipv4.ip_local_port_range", value: "10240 65000" },
          { name: "net.core.somaxconn", value: "4096" },
          { name: "net.ipv4.tcp_keepalive_time", value: "300" },
          { name: "net.ipv4.tcp_fin_timeout", value: "15" },
        ],
      },
    });
    // Wait until the apiserver calls both webhooks (it picks configurations up asynchronously).
    await new Promise((r) => setTimeout(r, 3000));
    let n = 0;
    const create = async (kind: string): Promise<number> => {
      const t = performance.now();
      await objects.createClusterCustomObject({ ...POLICY_REF, body: policy(kind, n++) });
      return performance.now() - t;
    };
    for (let w = 0; w < 10; w++) for (const kind of KINDS) await create(kind); // warm-up
    const runs: Record<(typeof KINDS)[number], number[]>[] = [];
    const cpu0 = cpuMs(oursPid);
    for (let run = 0; run < RUNS; run++) {
      const r = { ours: [] as number[], noop: [] as number[], none: [] as number[] };
      for (let i = 0; i < CREATES; i++) for (const kind of KINDS) r[kind].push(await create(kind));
      runs.push(r);
    }
    const cpuPerAdmission = (cpuMs(oursPid) - cpu0) / (RUNS * CREATES);
    const rssAfter = rssMiB(oursPid);
    const load1 = loadAverage();
    const p = (kind: (typeof KINDS)[number], q: number) => runs.map((r) => pct(r[kind], q));
    const rows = KINDS.map((kind) => [
      kind,
      spread(p(kind, 50)),
      spread(p(kind, 99)),
      spread(runs.map((r) => pct(r[kind], 50) / (pct(r.noop, 50) || NaN))),
      spread(runs.map((r) => pct(r[kind], 99) / (pct(r.noop, 99) || NaN))),
    ]);
    const lines = [
      `through the API server (bench/apiserver.ts, ${FULL ? "full" : "quick"} mode): ${NODES} nodes, ${CREATES} creates per webhook per run, ${RUNS} run(s), one client, interleaved request by request`,
      `node ${process.version}, ${os.cpus()[0]?.model ?? "?"} x ${os.cpus().length}; load average ${load0} at start, ${load1} at end; latency in ms at the client (client-node create)`,
      "",
      table(["webhook", "p50", "p99", "p50 / no-op", "p99 / no-op"], rows),
      "",
      `our webhook process (environment from the chart: ${
        Object.entries(chartEnv)
          .map(([k, v]) => `${k}=${v}`)
          .join(" ") || "none"
      }): synced ${NODES} nodes and registered in ${syncS.toFixed(1)} s; RSS ${rssSynced.toFixed(0)} MiB synced, ${rssSettled.toFixed(0)} MiB 20 s later, ${rssAfter.toFixed(0)} MiB after the load (target < 150 MiB); CPU ${cpuPerAdmission.toFixed(2)} ms per admission`,
    ];
    process.stdout.write(`${lines.join("\n")}\n`);
    mkdirSync(dirname(JSON_OUT), { recursive: true });
    writeFileSync(
      JSON_OUT,
      `${JSON.stringify({ bench: "apiserver", mode: FULL ? "full" : "quick", at: new Date().toISOString(), node: process.version, cpus: os.cpus().length, loadAverage: [load0, load1], nodes: NODES, creates: CREATES, runs: runs.map((r) => Object.fromEntries(KINDS.map((k) => [k, { p50: pct(r[k], 50), p99: pct(r[k], 99) }]))), webhook: { env: chartEnv, syncS, rssSyncedMiB: rssSynced, rssSettledMiB: rssSettled, rssAfterMiB: rssAfter, cpuMsPerAdmission: cpuPerAdmission }, createNodesS }, null, 2)}\n`,
    );
    process.stdout.write(`wrote ${JSON_OUT}\n`);
  } finally {
    for (const c of children) await stop(c);
    await plane.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
