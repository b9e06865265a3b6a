import { runPlan } from "../controller/plan-command.js";
import { isDirectRun } from "./entry-point.js";

/** `tcp-tuning plan ttp/NAME`: what a policy does (DryRun) or would change (Enforce) per node (src/controller/plan-command.ts). */
export function main(argv: readonly string[]): Promise<number> {
  return runPlan(argv);
}

if (isDirectRun(import.meta.url)) {
  process.exitCode = await main(process.argv.slice(2));
}
