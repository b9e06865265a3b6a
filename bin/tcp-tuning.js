#!/usr/bin/env node
// The `tcp-tuning` command: the compiled CLI when `npm run build` has produced dist/, else the
// TypeScript source through tsx (a runtime dependency), so `npx tcp-tuning` works right after `npm ci`.
import { existsSync } from "node:fs";

const built = new URL("../dist/cli/main.js", import.meta.url);
let cli;
if (existsSync(built)) {
  cli = await import(built.href);
} else {
  const { register } = await import("tsx/esm/api");
  register();
  cli = await import(new URL("../src/cli/main.ts", import.meta.url).href);
}
process.exitCode = await cli.runCli(process.argv.slice(2), cli.processIo());
