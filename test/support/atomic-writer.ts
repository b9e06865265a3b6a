import { mkdir, readlink, rename, rm, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";

/**
 * Writes a set of files into `dir` the way the kubelet's AtomicWriter updates a Secret volume: the
 * files go into a fresh hidden `..<timestamp>` directory, a `..data_tmp` symlink to it is renamed over
 * `..data` (one atomic swap), and each visible file is a symlink `name -> ..data/name`. A reader never
 * sees a mix of old and new files; the previous timestamped directory is removed afterwards.
 */
export async function atomicWrite(dir: string, files: Record<string, string>): Promise<void> {
  await mkdir(dir, { recursive: true });
  const previous = await readlink(join(dir, "..data")).catch(() => undefined);
  const stamp = `..${new Date().toISOString().replace(/[:.]/g, "_")}.${process.hrtime.bigint()}`;
  await mkdir(join(dir, stamp));
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, stamp, name), text, { mode: 0o600 });
  await rm(join(dir, "..data_tmp"), { force: true });
  await symlink(stamp, join(dir, "..data_tmp"));
  await rename(join(dir, "..data_tmp"), join(dir, "..data"));
  for (const name of Object.keys(files)) {
    await symlink(join("..data", name), join(dir, name)).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== "EEXIST") throw err;
    });
  }
  if (previous && previous !== stamp) await rm(join(dir, previous), { recursive: true, force: true });
}
