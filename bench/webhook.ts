/**
 * `npm run bench:webhook [-- --full]`: the admission webhook, called directly over HTTPS at constant
 * rates by vegeta, beside a no-op AdmissionReview server in the same run (interleaved rate by rate),
 * with the fleet cached in the webhook's node index. Prints a table and writes JSON (and an SVG plot).
 *
 * Figures, all measured at the client or from /proc:
 * - p50/p99 latency at each rate, webhook and no-op, and their ratio;
 * - peak throughput (vegeta at -rate=0, 64 workers) of each, and their ratio;
 * - CPU per request (the target's user+system time / requests) at each node count, and its growth;
 * - the webhook's RSS after the load.
 * A script, not a test. Needs vegeta (scripts/tools.sh builds it into .bin/vegeta).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { createCa, issueServingCert } from "../src/certs/index.js";
import { compileTargets, cpuMs, loadAverage, median, rssMiB, sh, spread, startTarget, stop, table } from "./support/proc.js";
import { lineChart } from "./support/svg-chart.js";

const { values } = parseArgs({
  options: {
    full: { type: "boolean", default: false },
    nodes: { type: "string" },
    rates: { type: "string" },
    duration: { type: "string" },
    runs: { type: "string" },
    json: { type: "string" },
    svg: { type: "string" },
    prototypes: { type: "string" },
  },
});
const FULL = values.full;
const NODE_COUNTS = (values.nodes ?? "500,5000").split(",").map(Number);
const RATES = (values.rates ?? (FULL ? "100,250,500,1000,2000" : "100,500")).split(",").map(Number);
const DURATION_S = Number(values.duration ?? (FULL ? "8" : "3"));
const RUNS = Number(values.runs ?? (FULL ? "3" : "1"));
/** Node prototypes (see webhook-target.ts): 60 gives a fleet of a few dozen classes; 0 draws every node afresh. */
const PROTOTYPES = values.prototypes ?? "60";
const JSON_OUT = values.json ?? (FULL ? "docs/bench/webhook.json" : "bench/results/webhook.json");
const SVG_OUT = values.svg ?? (FULL ? "docs/bench/webhook-latency.svg" : "bench/results/webhook-latency.svg");
const ROOT = fileURLToPath(new URL("../", import.meta.url));
const VEGETA = join(ROOT, ".bin/vegeta");

/** The policy of issue 13's measurement: 5 sysctls, a selector matching one tier in six (about 830 of 5,000 nodes). */
const POLICY = {
  apiVersion: "tcptuning.io/v1alpha1",
  kind: "TcpTuningPolicy",
  metadata: { name: "bench-edge" },
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
};
const REVIEW = {
  apiVersion: "admission.k8s.io/v1",
  kind: "AdmissionReview",
  request: {
    uid: "0b6c3a4e-5e8a-4d8e-9b55-000000000001",
    kind: { group: "tcptuning.io", version: "v1alpha1", kind: "TcpTuningPolicy" },
    resource: { group: "tcptuning.io", version: "v1alpha1", resource: "tcptuningpolicies" },
    operation: "CREATE",
    name: "bench-edge",
    userInfo: { username: "bench" },
    object: POLICY,
  },
};

interface Attack {
  readonly rate: number;
  readonly requests: number;
  readonly success: number;
  readonly throughput: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly cpuMsPerRequest: number;
}

interface VegetaReport {
  requests: number;
  success: number;
  throughput: number;
  latencies: { "50th": number; "99th": number };
}

async function attack(pid: number, targets: string, rate: number, seconds: number): Promise<Attack> {
  const before = cpuMs(pid);
  const rateArg = rate > 0 ? `-rate=${rate}/s` : "-rate=0 -max-workers=64";
  const out = await sh(
    `${VEGETA} attack -format=json -targets=${targets} -insecure -timeout=10s ${rateArg} -duration=${seconds}s | ${VEGETA} report -type=json`,
  );
  const cpu = cpuMs(pid) - before;
  const r = JSON.parse(out) as VegetaReport;
  return {
    rate,
    requests: r.requests,
    success: r.success,
    throughput: r.throughput,
    p50Ms: r.latencies["50th"] / 1e6,
    p99Ms: r.latencies["99th"] / 1e6,
    cpuMsPerRequest: r.requests > 0 ? cpu / r.requests : NaN,
  };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(os.tmpdir(), "tt-bench-webhook-"));
  const now = new Date();
  const life = { validityMs: 24 * 3600 * 1000, backdateMs: 60_000 };
  const ca = await createCa(now, life);
  const serving = await issueServingCert(ca, { dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"] }, now, life);
  writeFileSync(join(dir, "tls.crt"), serving.certPem);
  writeFileSync(join(dir, "tls.key"), serving.keyPem);
  const TARGET = join(await compileTargets(ROOT), "webhook-target.js");
  const load0 = loadAverage();
  const noop = await startTarget<{ port: number }>(TARGET, ["noop", "--cert", dir]);
  const results: {
    nodes: number;
    classes: number;
    rssMiB: number;
    noopRssMiB: number;
    rssAfterPeakMiB: number;
    noopRssAfterPeakMiB: number;
    byRate: { rate: number; webhook: Attack[]; noop: Attack[] }[];
    peak: { webhook: Attack[]; noop: Attack[] };
  }[] = [];
  const targetsFile = (name: string, port: number): string => {
    const file = join(dir, `${name}.targets`);
    const line = {
      method: "POST",
      url: `https://127.0.0.1:${port}/validate`,
      body: Buffer.from(JSON.stringify(REVIEW)).toString("base64"),
      header: { "Content-Type": ["application/json"] },
    };
    writeFileSync(file, `${JSON.stringify(line)}\n`);
    return file;
  };
  const noopTargets = targetsFile("noop", noop.info.port);
  try {
    for (const nodes of NODE_COUNTS) {
      const hook = await startTarget<{ port: number; nodes: number; classes: number }>(TARGET, [
        "webhook",
        "--nodes",
        String(nodes),
        "--prototypes",
        PROTOTYPES,
        "--cert",
        dir,
      ]);
      try {
        const hookTargets = targetsFile(`webhook-${nodes}`, hook.info.port);
        const pid = hook.child.pid as number;
        const noopPid = noop.child.pid as number;
        // Warm-up: JIT, TLS sessions, connection pools.
        await attack(pid, hookTargets, 200, 2);
        await attack(noopPid, noopTargets, 200, 1);
        const byRate: { rate: number; webhook: Attack[]; noop: Attack[] }[] = [];
        for (const rate of RATES) {
          const row = { rate, webhook: [] as Attack[], noop: [] as Attack[] };
          for (let run = 0; run < RUNS; run++) {
            row.noop.push(await attack(noopPid, noopTargets, rate, DURATION_S));
            row.webhook.push(await attack(pid, hookTargets, rate, DURATION_S));
          }
          byRate.push(row);
        }
        // Memory after the constant rates, before the throughput step: the steady figure.
        const rssSteady = rssMiB(pid);
        const noopRssSteady = rssMiB(noopPid);
        const peak = { webhook: [] as Attack[], noop: [] as Attack[] };
        for (let run = 0; run < RUNS; run++) {
          peak.noop.push(await attack(noopPid, noopTargets, 0, DURATION_S));
          peak.webhook.push(await attack(pid, hookTargets, 0, DURATION_S));
        }
        results.push({
          nodes,
          classes: hook.info.classes,
          rssMiB: rssSteady,
          noopRssMiB: noopRssSteady,
          rssAfterPeakMiB: rssMiB(pid),
          noopRssAfterPeakMiB: rssMiB(noopPid),
          byRate,
          peak,
        });
      } finally {
        await stop(hook.child);
      }
    }
  } finally {
    await stop(noop.child);
    rmSync(dir, { recursive: true, force: true });
  }
  const load1 = loadAverage();

  const rows: string[][] = [];
  for (const r of results) {
    for (const row of r.byRate) {
      const ratio = row.webhook.map((w, i) => w.p99Ms / (row.noop[i]?.p99Ms ?? NaN));
      rows.push([
        String(r.nodes),
        String(row.rate),
        spread(row.noop.map((a) => a.p50Ms)),
        spread(row.noop.map((a) => a.p99Ms)),
        spread(row.webhook.map((a) => a.p50Ms)),
        spread(row.webhook.map((a) => a.p99Ms)),
        spread(ratio),
        spread(
          row.webhook.map((a) => a.success * 100),
          1,
        ),
        spread(
          row.noop.map((a) => a.cpuMsPerRequest),
          3,
        ),
        spread(
          row.webhook.map((a) => a.cpuMsPerRequest),
          3,
        ),
      ]);
    }
  }
  const cpuAt = (r: (typeof results)[number]): number => median(r.byRate.flatMap((row) => row.webhook.map((a) => a.cpuMsPerRequest)));
  const first = results[0];
  const last = results[results.length - 1];
  const lines = [
    `webhook benchmark (bench/webhook.ts, ${FULL ? "full" : "quick"} mode): vegeta at constant rates, ${DURATION_S} s per step, ${RUNS} run(s), webhook and no-op interleaved`,
    `node ${process.version}, ${os.cpus()[0]?.model ?? "?"} x ${os.cpus().length}; load average ${load0} at start, ${load1} at end`,
    `policy: 5 sysctls, nodeSelector tier=edge (1 node in 6); fleet from ${PROTOTYPES === "0" ? "fresh draws" : `${PROTOTYPES} node prototypes`}; figures are median (min-max) over runs; latency in ms at the client`,
    "",
    table(["nodes", "rate/s", "noop p50", "noop p99", "hook p50", "hook p99", "p99 ratio", "hook ok %", "noop cpu ms/req", "hook cpu ms/req"], rows),
    "",
    table(
      ["nodes", "classes", "hook RSS MiB", "noop RSS MiB", "after peak: hook / noop", "noop peak req/s", "hook peak req/s", "peak ratio"],
      results.map((r) => [
        String(r.nodes),
        String(r.classes),
        r.rssMiB.toFixed(0),
        r.noopRssMiB.toFixed(0),
        `${r.rssAfterPeakMiB.toFixed(0)} / ${r.noopRssAfterPeakMiB.toFixed(0)}`,
        spread(
          r.peak.noop.map((a) => a.throughput),
          0,
        ),
        spread(
          r.peak.webhook.map((a) => a.throughput),
          0,
        ),
        spread(r.peak.webhook.map((a, i) => a.throughput / (r.peak.noop[i]?.throughput ?? NaN))),
      ]),
    ),
  ];
  if (first && last && first !== last)
    lines.push("", `CPU per request, ${last.nodes} nodes against ${first.nodes}: ${(cpuAt(last) / cpuAt(first)).toFixed(2)}x (target within 1.2x)`);
  process.stdout.write(`${lines.join("\n")}\n`);

  mkdirSync(dirname(JSON_OUT), { recursive: true });
  writeFileSync(
    JSON_OUT,
    `${JSON.stringify({ bench: "webhook", mode: FULL ? "full" : "quick", prototypes: Number(PROTOTYPES), at: new Date().toISOString(), node: process.version, cpus: os.cpus().length, loadAverage: [load0, load1], durationS: DURATION_S, runs: RUNS, results }, null, 2)}\n`,
  );
  const series = results.flatMap((r) => [
    { name: `webhook, ${r.nodes} nodes`, points: r.byRate.map((row) => [row.rate, median(row.webhook.map((a) => a.p99Ms))] as const) },
  ]);
  const noopSeries = {
    name: "no-op",
    points: (results[0]?.byRate ?? []).map(
      (row) => [row.rate, median(results.flatMap((r) => r.byRate.find((x) => x.rate === row.rate)?.noop.map((a) => a.p99Ms) ?? []))] as const,
    ),
  };
  mkdirSync(dirname(SVG_OUT), { recursive: true });
  writeFileSync(
    SVG_OUT,
    lineChart([...series, noopSeries], {
      title: "Admission p99 latency at the client against request rate",
      xLabel: "requests per second",
      yLabel: "p99 latency, ms",
      logY: true,
    }),
  );
  process.stdout.write(`wrote ${JSON_OUT} and ${SVG_OUT}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
