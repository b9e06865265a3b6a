import { runController } from "../controller/main.js";
import { isDirectRun } from "./entry-point.js";

/**
 * `tcp-tuning controller`: policies -> each Linux node's TcpTuningNodeState and each policy's status
 * (flags and wiring in src/controller/main.ts). Runs until SIGTERM or SIGINT; exits 1 when it loses
 * leadership. Also runs on its own: `node dist/cmd/controller.js ...`.
 */
export function main(argv: readonly string[]): Promise<number> {
  return runController(argv);
}

if (isDirectRun(import.meta.url)) {
  // Exit explicitly: keep-alive sockets of the API clients must not keep a stopped controller alive.
  process.exit(await main(process.argv.slice(2)));
}
