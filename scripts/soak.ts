/**
 * `npm run soak`: the long versions of the reliability scenarios (docs/reliability.md), each test
 * file scaled by TT_SOAK_FACTOR (default 10; test/support/soak.ts). Runs every step even after one
 * fails, then prints one summary line and exits non-zero if any step failed. A listed file missing
 * from the checkout fails the run (it is named); nothing is skipped.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT } from "../test/support/control-plane.js";

interface Step {
  readonly project: "unit" | "agent" | "integration";
  readonly files: readonly string[];
  readonly note?: string;
}

const STEPS: readonly Step[] = [
  { project: "unit", files: ["test/unit/fuzz/policy-verdicts.test.ts"] },
  { project: "agent", files: ["test/agent/faults.test.ts", "test/agent/writer-fuzz.test.ts"], note: "needs root" },
  {
    project: "integration",
    files: ["test/integration/control-plane-restart.test.ts", "test/integration/idle-watch.test.ts", "test/integration/leader-chaos.test.ts"],
    note: "needs the control plane binaries: bash scripts/k8s-bins.sh",
  },
];

const factor = process.env["TT_SOAK_FACTOR"] ?? "10";
const vitest = join(REPO_ROOT, "node_modules", ".bin", "vitest");
const results: string[] = [];
let failed = 0;

for (const step of STEPS) {
  const files = step.files.filter((f) => {
    if (existsSync(join(REPO_ROOT, f))) return true;
    process.stdout.write(`soak: FAILED ${f}: the file does not exist in this checkout\n`);
    results.push(`${f}: FAILED (missing)`);
    failed++;
    return false;
  });
  if (files.length === 0) continue;
  process.stdout.write(`soak: ${step.project}${step.note ? ` (${step.note})` : ""}: ${files.join(" ")} at TT_SOAK_FACTOR=${factor}\n`);
  const t0 = performance.now();
  const run = spawnSync(vitest, ["run", "--project", step.project, ...files], {
    cwd: REPO_ROOT,
    stdio: "inherit",
    env: { ...process.env, TT_SOAK_FACTOR: factor },
  });
  const seconds = Math.round((performance.now() - t0) / 1000);
  const ok = run.status === 0;
  if (!ok) failed++;
  results.push(
    `${step.project} [${files.map((f) => f.split("/").pop()).join(", ")}]: ${ok ? "passed" : `FAILED (${run.error?.message ?? `exit ${run.status ?? run.signal}`})`} in ${seconds} s`,
  );
}

process.stdout.write(
  `soak summary (TT_SOAK_FACTOR=${factor}): ${failed === 0 ? "every step run passed" : `${failed} step(s) or file(s) failed`}; ${results.join("; ")}\n`,
);
process.exitCode = failed === 0 ? 0 : 1;
