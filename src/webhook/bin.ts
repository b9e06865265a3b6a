import { runWebhook } from "./main.js";

/** `node dist/webhook/bin.js`: the webhook alone, for an image without the CLI. */
process.exitCode = await runWebhook(process.argv.slice(2));
