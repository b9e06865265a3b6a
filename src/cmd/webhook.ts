import { isDirectRun } from "./entry-point.js";
import { loadClientNodeWithoutDocComments } from "./lean-client.js";

/**
 * `tcp-tuning webhook`: the admission webhook server (flags and wiring in src/webhook/main.ts). Runs
 * until SIGTERM or SIGINT. Also runs on its own, for an image without the CLI: `node dist/cmd/webhook.js ...`.
 * The Kubernetes client is loaded without its doc comments (lean-client.ts), so the webhook, which
 * holds it for its whole life, is loaded only after that is in place.
 */
export async function main(argv: readonly string[]): Promise<number> {
  loadClientNodeWithoutDocComments();
  const { runWebhook } = await import("../webhook/main.js");
  return runWebhook(argv, process.env);
}

if (isDirectRun(import.meta.url)) {
  process.exitCode = await main(process.argv.slice(2));
}
