import { main as runRollout } from "../controller/rollout/rollout-command.js";
import { isDirectRun } from "./entry-point.js";

/**
 * `tcp-tuning rollout status|pause|resume ttp/NAME`: a policy's gradual rollout from the API server
 * (src/controller/rollout/rollout-command.ts). Also installed as the kubectl plugin kubectl-tcp_tuning.
 */
export function main(argv: readonly string[]): Promise<number> {
  return runRollout(argv);
}

if (isDirectRun(import.meta.url)) {
  const code = await main(process.argv.slice(2));
  process.exit(code);
}
