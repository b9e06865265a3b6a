#!/usr/bin/env node
// The `tcp-tuning` command.
//
// Which code runs, so that a checkout never runs a stale build:
// - in a checkout (src/cli/main.ts exists next to this file): the TypeScript source, through tsx (a
//   runtime dependency). Whatever `dist/` holds is ignored: it may be older than the source.
// - in an installed package or image without src/: the compiled `dist/` (`npm run build`).
// Set TCP_TUNING_USE_DIST=1 to run dist/ in a checkout anyway (to try a build); it is then yours to
// keep it fresh.
import { existsSync } from "node:fs";

const source = new URL("../src/cli/main.ts", import.meta.url);
const built = new URL("../dist/cli/main.js", import.meta.url);
const useSource = existsSync(source) && process.env.TCP_TUNING_USE_DIST !== "1";
let cli;
if (useSource) {
  const { register } = await import("tsx/esm/api");
  register();
  cli = await import(source.href);
} else if (existsSync(built)) {
  cli = await import(built.href);
} else {
  process.stderr.write("tcp-tuning: neither src/cli/main.ts nor dist/cli/main.js is there; run `npm run build`\n");
  process.exit(2);
}
process.exitCode = await cli.runCli(process.argv.slice(2), cli.processIo());
