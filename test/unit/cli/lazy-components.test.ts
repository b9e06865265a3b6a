import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO } from "./run.js";

/**
 * `check` must never load a Kubernetes client: the components sit behind lazy imports in
 * src/cli/main.ts. A module hook preloaded into the real command (bin/tcp-tuning.js) records every
 * package it loads and prints them at exit.
 */
const HOOK = `import { registerHooks } from "node:module";
const packages = new Set();
registerHooks({
  load(url, context, nextLoad) {
    const m = /node_modules\\/((?:@[^/]+\\/)?[^/]+)/.exec(url);
    if (m) packages.add(m[1]);
    return nextLoad(url, context);
  },
});
process.on("exit", () => process.stderr.write("PACKAGES " + [...packages].sort().join(",") + "\\n"));
`;

let dir: string;
let hook: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "tcp-tuning-lazy-"));
  hook = path.join(dir, "record-packages.mjs");
  await writeFile(hook, HOOK);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function packagesLoadedBy(args: readonly string[]): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", hook, path.join(REPO, "bin/tcp-tuning.js"), ...args], {
      cwd: REPO,
      env: { ...process.env, NO_COLOR: "1" },
    });
    let stderr = "";
    child.stdout.resume();
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    child.on("error", reject);
    child.on("close", () => {
      const line = stderr.split("\n").find((l) => l.startsWith("PACKAGES "));
      if (line === undefined) reject(new Error(`no PACKAGES line in: ${stderr}`));
      else resolve(line.slice("PACKAGES ".length).split(",").filter(Boolean));
    });
  });
}

// Each case starts node with tsx: seconds on a loaded machine.
const SPAWN_BUDGET_MS = 90_000;

describe("the CLI loads a component's dependencies only when that component is asked for", () => {
  it(
    "check on the sample fleet loads no Kubernetes client",
    async () => {
      const packages = await packagesLoadedBy(["check", "--nodes", "examples/nodes.yaml", "examples/policies"]);
      expect(packages).toContain("yaml");
      expect(packages).not.toContain("@kubernetes/client-node");
    },
    SPAWN_BUDGET_MS,
  );

  it(
    "webhook loads the Kubernetes client (so the check above is not vacuous)",
    async () => {
      expect(await packagesLoadedBy(["webhook", "--no-such-flag"])).toContain("@kubernetes/client-node");
    },
    SPAWN_BUDGET_MS,
  );
});
