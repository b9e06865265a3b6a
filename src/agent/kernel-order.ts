import { SysctlIoError } from "./sysctl-fs.js";

/**
 * Writes a set of sysctls in an order the kernel accepts.
 *
 * Some keys constrain each other at write time, so a valid final set can be refused in the wrong
 * order: the kernel refuses an ip_local_port_range whose low port is below
 * ip_unprivileged_port_start, and an ip_unprivileged_port_start at or above the range's low port
 * (raising both: the range first; lowering both: the start first). A write the kernel refuses with
 * EINVAL is therefore tried again after the others, round after round, while a round makes progress.
 * What still fails when a round changes nothing fails for real.
 */

export interface KernelOrderOutcome<T> {
  /** Written, in the order they were written. */
  readonly done: { readonly item: T; readonly actual: string }[];
  readonly failed: { readonly item: T; readonly err: unknown }[];
  /** Not written because a hard failure stopped the set (stopOnHardFailure). */
  readonly notAttempted: T[];
}

/** EINVAL from the write itself: the kernel refused the value as things stand now (maybe only for now). */
export function isKernelRefusal(err: unknown): boolean {
  return err instanceof SysctlIoError && err.operation === "write" && err.code === "EINVAL";
}

export async function writeInKernelOrder<T>(
  items: readonly T[],
  write: (item: T) => Promise<string>,
  opts: { readonly stopOnHardFailure: boolean; readonly afterEach?: (item: T, actual: string) => Promise<void> },
): Promise<KernelOrderOutcome<T>> {
  const done: { item: T; actual: string }[] = [];
  const failed: { item: T; err: unknown }[] = [];
  let pending = [...items];
  for (;;) {
    const refused: { item: T; err: unknown }[] = [];
    let progress = false;
    for (let i = 0; i < pending.length; i++) {
      const item = pending[i] as T;
      let actual: string;
      try {
        actual = await write(item);
      } catch (err) {
        if (isKernelRefusal(err)) {
          refused.push({ item, err });
          continue;
        }
        failed.push({ item, err });
        if (opts.stopOnHardFailure) return { done, failed, notAttempted: [...refused.map((r) => r.item), ...pending.slice(i + 1)] };
        continue;
      }
      done.push({ item, actual });
      progress = true;
      if (opts.afterEach) await opts.afterEach(item, actual);
    }
    if (refused.length === 0) return { done, failed, notAttempted: [] };
    if (!progress) return { done, failed: [...failed, ...refused], notAttempted: [] };
    pending = refused.map((r) => r.item);
  }
}
