import { constants } from "node:fs";
import { open, rename, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

/**
 * Replaces a file atomically and durably: a temp file in the same directory (O_NOFOLLOW, mode 0600),
 * fsync, rename over the old file, fsync of the directory. A crash leaves the old file or the new
 * one, never a half-written one; a failed write leaves no temp file behind.
 */
export async function writeFileAtomic(path: string, body: string): Promise<void> {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.tmp`);
  const file = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW, 0o600);
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
