import { runAgentCli } from "../agent/cli.js";
import { isDirectRun } from "./entry-point.js";

/**
 * `tcp-tuning agent`: the node agent (flags and wiring in src/agent/cli.ts). Runs until SIGTERM or
 * SIGINT. Also runs on its own: `node dist/cmd/agent.js ...` (or `node --import tsx src/cmd/agent.ts`).
 */
export function main(argv: readonly string[]): Promise<number> {
  return runAgentCli(argv, process.env);
}

if (isDirectRun(import.meta.url)) {
  const code = await main(process.argv.slice(2));
  // Exit explicitly: keep-alive sockets of the API client must not keep a stopped agent alive.
  process.exit(code);
}
