import { randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { lstat, open, readdir, rename, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

/**
 * Replaces a file atomically and durably: a temp file in the same directory, fsync, rename over the
 * old file, fsync of the directory. A crash leaves the old file or the new one, never a half-written
 * one; a failed write leaves no temp file behind.
 *
 * The temp file is created exclusively (O_CREAT|O_EXCL|O_NOFOLLOW, mode 0600) under an unpredictable
 * name (`.<name>.<128 random bits>.tmp`): a file, hard link or symlink planted at a guessed name is
 * never opened, let alone written through. A `kill -9` between create and rename leaves a temp file,
 * which removeStaleTemporaries() deletes at the next start.
 */
export async function writeFileAtomic(path: string, body: string): Promise<void> {
  const dir = dirname(path);
  const tmp = join(dir, `${tempPrefix(path)}${randomBytes(16).toString("hex")}.tmp`);
  const file = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  try {
    await file.writeFile(body, "utf8");
    await file.sync();
  } catch (err) {
    await file.close();
    await unlink(tmp).catch(() => undefined);
    throw new Error(`cannot write ${tmp}: ${(err as Error).message}`, { cause: err });
  }
  await file.close();
  try {
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw new Error(`cannot rename ${tmp} over it: ${(err as Error).message}`, { cause: err });
  }
  const dirHandle = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await dirHandle.sync();
  } finally {
    await dirHandle.close();
  }
}

function tempPrefix(path: string): string {
  return `.${basename(path)}.`;
}

/**
 * Deletes the temp files a killed writer of `path` left behind (`.<name>.*.tmp` in its directory,
 * the old `.<name>.<pid>.tmp` names included). Only the names are unlinked: nothing is followed or
 * opened. Returns the names removed. Call it before the first write, while no other writer runs.
 */
export async function removeStaleTemporaries(path: string): Promise<string[]> {
  const dir = dirname(path);
  const prefix = tempPrefix(path);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
  const removed: string[] = [];
  for (const name of names) {
    if (!name.startsWith(prefix) || !name.endsWith(".tmp") || name.length <= prefix.length + 4) continue;
    const full = join(dir, name);
    const st = await lstat(full).catch(() => undefined);
    if (!st || st.isDirectory()) continue;
    await unlink(full).catch(() => undefined);
    removed.push(full);
  }
  return removed;
}
