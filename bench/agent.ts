/**
 * `tsx bench/agent.ts [--full]`: the node agent in a real network namespace (needs root and iproute2).
 * - time to apply and verify 10 keys (the agent's reconcile pass) against a `sysctl -w` + `sysctl -n`
 *   loop in the same namespace;
 * - the agent process's RSS idle (no desired state) and after applying the 10 keys;
 * - status writes at steady state, per drift interval, and per hour at the default 60 s interval.
 * Prints a table and writes JSON. A script, not a test.
 */
import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { freePort } from "../test/support/ports.js";
import { KEYS } from "./support/agent-keys.js";
import { compileTargets, loadAverage, median, rssMiB, spread, stop, table } from "./support/proc.js";

const { values } = parseArgs({ options: { full: { type: "boolean", default: false }, json: { type: "string" } } });
const FULL = values.full;
const ROUNDS = FULL ? 15 : 3;
const STEADY_S = FULL ? 20 : 5;
const JSON_OUT = values.json ?? (FULL ? "docs/bench/agent.json" : "bench/results/agent.json");
const ROOT = fileURLToPath(new URL("../", import.meta.url));

const ns = `tt-bench-${process.pid}`;
const inNs = (args: readonly string[]) => ["netns", "exec", ns, ...args];

async function until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const end = performance.now() + timeoutMs;
  while (!(await cond())) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function main(): Promise<void> {
  const supportDir = await compileTargets(ROOT);
  const load0 = loadAverage();
  const dir = mkdtempSync(join(os.tmpdir(), "tt-bench-agent-"));
  execFileSync("ip", ["netns", "add", ns]);
  try {
    execFileSync("ip", inNs(["ip", "link", "set", "lo", "up"]));
    const apply = JSON.parse(
      execFileSync("ip", inNs([process.execPath, join(supportDir, "agent-apply.js"), "--rounds", String(ROUNDS), "--state", dir]), { encoding: "utf8" }),
    ) as { agentMs: number[]; sysctlMs: number[] };

    // The agent as a process in the namespace, file backend, metrics on loopback inside the namespace.
    const port = await freePort();
    const cli = join(ROOT, "bench/results/dist/src/cli/main.js");
    const desiredFile = join(dir, "desired.json");
    const keys = KEYS.map(([name, value]) => ({ name, value, policy: "bench" }));
    const agent = spawn(
      "ip",
      inNs([
        process.execPath,
        "--input-type=module",
        "-e",
        `const cli = await import(${JSON.stringify(cli)}); process.exitCode = await cli.runCli(process.argv.slice(1), cli.processIo());`,
        "agent",
        "--node-name",
        "bench",
        "--state-file",
        join(dir, "agent-state.json"),
        "--desired-file",
        desiredFile,
        "--status-file",
        join(dir, "status.json"),
        "--poll-interval",
        "100ms",
        "--drift-interval",
        "1s",
        "--metrics-port",
        String(port),
        "--metrics-host",
        "127.0.0.1",
      ]),
      { stdio: ["ignore", "ignore", "inherit"], env: { ...process.env, LOG_LEVEL: "warn" } },
    );
    // The metrics port is inside the namespace: read it from there, with a node one-liner.
    const nsMetric = (name: string): number =>
      Number(
        execFileSync(
          "ip",
          inNs([
            process.execPath,
            "-e",
            `fetch("http://127.0.0.1:${port}/metrics").then(r=>r.text()).then(t=>console.log(t.split("\\n").filter(l=>l.startsWith(${JSON.stringify(name)})).reduce((s,l)=>s+Number(l.split(" ").pop()),0)))`,
          ]),
          { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] },
        ).trim(),
      );
    try {
      await until("the agent's metrics", () => {
        try {
          nsMetric("tcptuning_agent_passes_total");
          return true;
        } catch {
          return false;
        }
      });
      // `ip netns exec` enters the namespace and execs the command: the child's pid is the agent's.
      const agentPid = agent.pid as number;
      await new Promise((r) => setTimeout(r, 2000));
      const rssIdle = rssMiB(agentPid);
      writeFileSync(desiredFile, JSON.stringify({ metadata: { generation: 1 }, spec: { nodeName: "bench", sysctls: keys } }));
      await until("the keys applied", () => nsMetric('tcptuning_agent_apply_results_total{node="bench",result="Applied"') >= keys.length);
      await new Promise((r) => setTimeout(r, 2000));
      const rssApplied = rssMiB(agentPid);
      const w0 = nsMetric("tcptuning_agent_status_writes_total");
      const t0 = performance.now();
      await new Promise((r) => setTimeout(r, STEADY_S * 1000));
      const writes = nsMetric("tcptuning_agent_status_writes_total") - w0;
      const intervals = (performance.now() - t0) / 1000;
      const perInterval = writes / intervals;
      const load1 = loadAverage();
      const ratio = apply.agentMs.map((a, i) => a / (apply.sysctlMs[i] ?? NaN));
      const lines = [
        `node agent (bench/agent.ts, ${FULL ? "full" : "quick"} mode): one network namespace, 10 keys, ${ROUNDS * 2} passes each way, alternating`,
        `node ${process.version}, ${os.cpus()[0]?.model ?? "?"} x ${os.cpus().length}; load average ${load0} at start, ${load1} at end`,
        "",
        table(
          ["apply + verify 10 keys", "ms, median (min-max)"],
          [
            ["agent reconcile pass (incl. state file fsync)", spread(apply.agentMs)],
            ["sysctl -w + sysctl -n loop (20 processes)", spread(apply.sysctlMs)],
            ["ratio agent / sysctl loop", spread(ratio)],
          ],
        ),
        "",
        `agent process RSS: ${rssIdle.toFixed(0)} MiB idle, ${rssApplied.toFixed(0)} MiB after applying 10 keys`,
        `status writes at steady state: ${perInterval.toFixed(2)} per drift interval (measured at 1 s for ${STEADY_S} s) = ${(perInterval * 60).toFixed(0)} per hour at the default 60 s interval`,
      ];
      process.stdout.write(`${lines.join("\n")}\n`);
      mkdirSync(dirname(JSON_OUT), { recursive: true });
      writeFileSync(
        JSON_OUT,
        `${JSON.stringify({ bench: "agent", mode: FULL ? "full" : "quick", at: new Date().toISOString(), node: process.version, loadAverage: [load0, load1], apply, medianRatio: median(ratio), rssIdleMiB: rssIdle, rssAppliedMiB: rssApplied, statusWritesPerInterval: perInterval, statusWritesPerHourAt60s: perInterval * 60 }, null, 2)}\n`,
      );
      process.stdout.write(`wrote ${JSON_OUT}\n`);
    } finally {
      await stop(agent);
    }
  } finally {
    execFileSync("ip", ["netns", "del", ns]);
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  try {
    execFileSync("ip", ["netns", "del", ns], { stdio: "ignore" });
  } catch {
    // gone
  }
  process.exit(1);
});
