import { spawn } from "node:child_process";
import { copyFile, mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { REPO } from "./run.js";

/**
 * bin/tcp-tuning.js in a copy of the package layout (the real bin and package.json, src/ and
 * node_modules linked to the checkout's), with a fake dist/ that would say it ran: the real dist/
 * of the checkout is never touched.
 */
const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

const STALE_DIST = `export async function runCli() { process.stdout.write("stale dist ran\\n"); return 42; }\nexport function processIo() { return {}; }\n`;

async function layout(parts: { readonly src: boolean; readonly dist: boolean }): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), "tcp-tuning-bin-"));
  dirs.push(dir);
  await mkdir(path.join(dir, "bin"));
  await copyFile(path.join(REPO, "bin/tcp-tuning.js"), path.join(dir, "bin/tcp-tuning.js"));
  await copyFile(path.join(REPO, "package.json"), path.join(dir, "package.json"));
  await symlink(path.join(REPO, "node_modules"), path.join(dir, "node_modules"));
  if (parts.src) await symlink(path.join(REPO, "src"), path.join(dir, "src"));
  if (parts.dist) {
    await mkdir(path.join(dir, "dist/cli"), { recursive: true });
    await writeFile(path.join(dir, "dist/cli/main.js"), STALE_DIST);
  }
  return dir;
}

function runBin(dir: string, args: readonly string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const { TCP_TUNING_USE_DIST: _ignored, ...inherited } = process.env;
    const child = spawn(process.execPath, [path.join(dir, "bin/tcp-tuning.js"), ...args], { cwd: dir, env: { ...inherited, ...env } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

// Each case starts node (and tsx for the source): seconds on a loaded machine.
const SPAWN_BUDGET_MS = 90_000;

describe("bin/tcp-tuning.js chooses the source in a checkout and dist/ only in a package without src/", () => {
  it(
    "runs the TypeScript source in a checkout even when a stale dist/ is there",
    async () => {
      const r = await runBin(await layout({ src: true, dist: true }), ["version"]);
      expect(r.stdout).not.toContain("stale dist ran");
      expect(r.stdout).toMatch(/^tcp-tuning \d+\.\d+\.\d+/);
      expect(r.code).toBe(0);
    },
    SPAWN_BUDGET_MS,
  );

  it(
    "runs dist/ in an installed package, which has no src/",
    async () => {
      const r = await runBin(await layout({ src: false, dist: true }), ["version"]);
      expect(r.stdout).toBe("stale dist ran\n");
      expect(r.code).toBe(42);
    },
    SPAWN_BUDGET_MS,
  );

  it(
    "runs dist/ in a checkout only when TCP_TUNING_USE_DIST=1 asks for it",
    async () => {
      const r = await runBin(await layout({ src: true, dist: true }), ["version"], { TCP_TUNING_USE_DIST: "1" });
      expect(r.stdout).toBe("stale dist ran\n");
    },
    SPAWN_BUDGET_MS,
  );

  it(
    "says to build, with exit code 2, when there is neither source nor dist/",
    async () => {
      const r = await runBin(await layout({ src: false, dist: false }), ["version"]);
      expect(r.stderr).toContain("npm run build");
      expect(r.code).toBe(2);
    },
    SPAWN_BUDGET_MS,
  );
});
