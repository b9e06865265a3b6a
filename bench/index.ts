/**
 * `npm run bench` (quick mode, what CI runs: a few minutes) and `npm run bench:full` (the figures in
 * docs/benchmarks.md): every benchmark script in turn, each printing its table and writing its JSON.
 */
import { spawnSync } from "node:child_process";
import { parseArgs } from "node:util";

const { values } = parseArgs({ options: { full: { type: "boolean", default: false } } });
const full = values.full;
const steps: readonly (readonly [string, readonly string[]])[] = [
  ["rule engine", ["bench/rules.ts", ...(full ? ["--json", "docs/bench/rules.json"] : ["--policies", "100", "--rounds", "1"])]],
  ["webhook, direct", ["bench/webhook.ts", ...(full ? ["--full"] : [])]],
  ["through the API server", ["bench/apiserver.ts", ...(full ? ["--full"] : [])]],
  ["controller at scale", ["bench/controller.ts", ...(full ? ["--full"] : [])]],
  ["node agent", ["bench/agent.ts", ...(full ? ["--full"] : [])]],
];
let failed = 0;
process.stdout.write("=== compiling src and bench/support to bench/results/dist (targets run as plain JavaScript)\n");
const compiled = spawnSync("npx", ["tsc", "-p", "bench/tsconfig.json"], { stdio: "inherit" });
if (compiled.status !== 0) process.exit(1);
for (const [name, args] of steps) {
  const started = Date.now();
  process.stdout.write(`\n=== ${name}: tsx ${args.join(" ")}\n`);
  const r = spawnSync(process.execPath, ["--import", "tsx", ...args], { stdio: "inherit", env: { ...process.env, TT_BENCH_COMPILED: "1" } });
  process.stdout.write(
    `=== ${name}: ${r.status === 0 ? "done" : `FAILED (exit ${r.status ?? r.signal})`} in ${((Date.now() - started) / 1000).toFixed(0)} s\n`,
  );
  if (r.status !== 0) failed++;
}
process.exitCode = failed > 0 ? 1 : 0;
