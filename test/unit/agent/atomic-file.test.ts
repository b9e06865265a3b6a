import { chmod, link, lstat, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { removeStaleTemporaries, writeFileAtomic } from "../../../src/agent/atomic-file.js";
import { emptyState, readStateFile, saveStateFile, stateFileProblem, StateFileError } from "../../../src/agent/state-file.js";

/**
 * The state and status writers against a local attacker who can create files in their directory:
 * planted links at the temp names an older agent used, a state file shared with another name, left
 * temp files of a killed writer.
 */

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), "tt-atomic-"));
  dirs.push(d);
  return d;
}

const ORIGINAL = { name: "net.ipv4.tcp_tw_reuse", value: "2", recordedAt: "2026-01-01T00:00:00Z" };

describe("writing the state file next to planted files", () => {
  it.each([
    ["a hard link", (victim: string, at: string) => link(victim, at)],
    ["a symbolic link", (victim: string, at: string) => symlink(victim, at)],
  ])("does not write through %s planted at the old predictable temp name", async (_what, plant) => {
    const dir = await tempDir();
    const victim = join(dir, "victim");
    await writeFile(victim, "untouched\n", { mode: 0o644 });
    const stateFile = join(dir, "agent-state.json");
    await plant(victim, join(dir, `.agent-state.json.${process.pid}.tmp`));

    await saveStateFile(stateFile, { ...emptyState(), originals: [ORIGINAL] });

    expect(await readFile(victim, "utf8")).toBe("untouched\n");
    const st = await stat(stateFile);
    expect(st.nlink).toBe(1);
    expect(st.mode & 0o777).toBe(0o600);
    expect((await readStateFile(stateFile))?.originals).toEqual([ORIGINAL]);
  });

  it("names each temp file unpredictably and creates it exclusively", async () => {
    const dir = await tempDir();
    const target = join(dir, "status.json");
    const seen = new Set<string>();
    // Two writers at once: each gets its own temp file, neither opens the other's.
    await Promise.all(Array.from({ length: 20 }, (_, i) => writeFileAtomic(target, `${i}\n`)));
    for (const name of await readdir(dir)) seen.add(name);
    expect([...seen]).toEqual(["status.json"]);
    expect(await readFile(target, "utf8")).toMatch(/^\d+\n$/);
  });

  it("removes the temp files a killed writer left, old and new names, and nothing else", async () => {
    const dir = await tempDir();
    const target = join(dir, "agent-state.json");
    const left = [".agent-state.json.4242.tmp", ".agent-state.json.0123456789abcdef0123456789abcdef.tmp"];
    const kept = ["agent-state.json", ".agent-state.json.tmp-not-ours", ".other.json.77.tmp", "notes.tmp"];
    for (const n of [...left, ...kept]) await writeFile(join(dir, n), "x");
    await mkdir(join(dir, ".agent-state.json.dir.tmp"));

    const removed = await removeStaleTemporaries(target);

    expect(removed.map((p) => p.slice(dir.length + 1)).sort()).toEqual([...left].sort());
    expect((await readdir(dir)).sort()).toEqual([...kept, ".agent-state.json.dir.tmp"].sort());
    expect(await removeStaleTemporaries(join(dir, "missing-dir", "x.json"))).toEqual([]);
  });
});

describe("a state file the agent does not trust", () => {
  it("refuses one with two links (another name shares its contents), saying so", async () => {
    const dir = await tempDir();
    const stateFile = join(dir, "agent-state.json");
    await saveStateFile(stateFile, { ...emptyState(), originals: [ORIGINAL] });
    await link(stateFile, join(dir, "planted"));
    await expect(readStateFile(stateFile)).rejects.toThrow(/has 2 hard links, expected 1/);
  });

  it("refuses one readable by group or others (mode 0644)", async () => {
    const dir = await tempDir();
    const stateFile = join(dir, "agent-state.json");
    await saveStateFile(stateFile, { ...emptyState(), originals: [ORIGINAL] });
    await chmod(stateFile, 0o644);
    await expect(readStateFile(stateFile)).rejects.toThrow(/has mode 0644, expected 0600/);
  });

  it("refuses a symbolic link in its place", async () => {
    const dir = await tempDir();
    await writeFile(join(dir, "elsewhere.json"), JSON.stringify({ version: 1, originals: [] }), { mode: 0o600 });
    await symlink(join(dir, "elsewhere.json"), join(dir, "agent-state.json"));
    const err = await readStateFile(join(dir, "agent-state.json")).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StateFileError);
    expect((err as Error).message).toMatch(/symbolic link/);
  });

  it.each([
    ["another owner", { nlink: 1, uid: 1000, mode: 0o100600 }, 0, /owned by uid 1000, expected 0/],
    ["two links", { nlink: 2, uid: 0, mode: 0o100600 }, 0, /2 hard links/],
    ["mode 0644", { nlink: 1, uid: 0, mode: 0o100644 }, 0, /mode 0644/],
    ["mode 0620", { nlink: 1, uid: 5, mode: 0o100620 }, 5, /mode 0620/],
  ])("says what is wrong with %s", (_what, st, euid, message) => {
    expect(stateFileProblem({ ...st, isFile: () => true }, euid)).toMatch(message);
  });

  it("trusts a single-link 0600 file of its own user", async () => {
    const dir = await tempDir();
    const stateFile = join(dir, "agent-state.json");
    await saveStateFile(stateFile, { ...emptyState(), originals: [ORIGINAL] });
    expect(stateFileProblem(await lstat(stateFile))).toBeUndefined();
  });
});
