import { readFile } from "node:fs/promises";
import { release } from "node:os";
import { join } from "node:path";
import type { NodeProbe, ProbedKey } from "../api/v1alpha1/node-state.js";
import { SYSCTL_VALUE_MAX } from "../api/v1alpha1/policy.js";
import { catalogNames } from "../rules/index.js";
import type { SysctlFs } from "./sysctl-fs.js";

/**
 * What this node's kernel offers: its release and, for every catalog key, whether it exists and its
 * value. Vendor kernels backport and remove features, so the webhook and the controller prefer this
 * to version tables. Read-only.
 */

export async function kernelRelease(sysctlRoot: string): Promise<string> {
  try {
    const text = (await readFile(join(sysctlRoot, "kernel", "osrelease"), "utf8")).trim();
    if (text !== "") return text;
  } catch {
    // A test root may have no kernel/ directory; uname says the same thing.
  }
  return release();
}

/** The kernel's boot id (new at every boot); undefined when it cannot be read. */
export async function kernelBootId(sysctlRoot: string): Promise<string | undefined> {
  for (const path of [join(sysctlRoot, "kernel", "random", "boot_id"), "/proc/sys/kernel/random/boot_id"]) {
    try {
      const text = (await readFile(path, "utf8")).trim();
      if (text !== "") return text;
    } catch {
      // A test root may have no kernel/ directory; the real one says the same thing.
    }
  }
  return undefined;
}

export async function probeNode(fs: SysctlFs, now = new Date()): Promise<NodeProbe> {
  const keys: ProbedKey[] = [];
  for (const name of catalogNames()) {
    if (!(await fs.exists(name))) {
      keys.push({ name, present: false });
      continue;
    }
    try {
      const value = await fs.read(name);
      // A value longer than the API takes (a long ip_local_reserved_ports) would make the whole
      // status invalid: say the key exists, without its value, rather than cut it.
      keys.push(value.length <= SYSCTL_VALUE_MAX ? { name, present: true, value } : { name, present: true });
    } catch {
      // Present but unreadable (e.g. a write-only key): say it exists, without a value.
      keys.push({ name, present: true });
    }
  }
  const bootId = await kernelBootId(fs.root);
  return { kernelRelease: await kernelRelease(fs.root), ...(bootId ? { bootId } : {}), probedAt: now.toISOString(), keys };
}
