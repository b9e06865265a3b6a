import { runWebhook } from "../webhook/main.js";
import { isDirectRun } from "./entry-point.js";

/**
 * `tcp-tuning webhook`: the admission webhook server (flags and wiring in src/webhook/main.ts). Runs
 * until SIGTERM or SIGINT. Also runs on its own, for an image without the CLI: `node dist/cmd/webhook.js ...`.
 */
export function main(argv: readonly string[]): Promise<number> {
  return runWebhook(argv, process.env);
}

if (isDirectRun(import.meta.url)) {
  process.exitCode = await main(process.argv.slice(2));
}
