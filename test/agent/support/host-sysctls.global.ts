import { execFileSync } from "node:child_process";
import type { TestProject } from "vitest/node";

declare module "vitest" {
  export interface ProvidedContext {
    /** The host's net.* sysctls (and kernel.core_pattern) before any agent test ran. */
    hostSysctlsBefore: Record<string, string>;
  }
}

/**
 * Global setup of the agent project: snapshot the host network namespace's sysctls (net.* and
 * kernel.core_pattern, which the attack test targets) before any test, compare after all of them,
 * and fail the run on any difference. The agent tests must only ever touch their own namespaces.
 */

/** Counters and per-boot noise that change on their own. */
const VOLATILE = [/^net\.netfilter\.nf_conntrack_count$/, /\.stable_secret$/, /^net\.ipv4\.route\.gc_/];

export function snapshotHostSysctls(): Map<string, string> {
  const out = execFileSync("sysctl", ["-a"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], maxBuffer: 64 * 1024 * 1024 });
  const map = new Map<string, string>();
  for (const line of out.split("\n")) {
    const i = line.indexOf(" = ");
    if (i < 0) continue;
    const key = line.slice(0, i);
    if (!(key.startsWith("net.") || key === "kernel.core_pattern")) continue;
    if (VOLATILE.some((re) => re.test(key))) continue;
    map.set(
      key,
      line
        .slice(i + 3)
        .trim()
        .split(/\s+/)
        .join(" "),
    );
  }
  return map;
}

/** Keys present before and after whose values differ (interfaces that come and go are not compared). */
export function diffSysctls(before: Map<string, string>, after: Map<string, string>): string[] {
  const diffs: string[] = [];
  for (const [k, v] of before) {
    const now = after.get(k);
    if (now !== undefined && now !== v) diffs.push(`${k}: ${v} -> ${now}`);
  }
  return diffs;
}

export default function setup(project: TestProject): () => void {
  if (process.getuid?.() !== 0) throw new Error("the agent tests need root (network namespaces, /proc/sys writes)");
  const before = snapshotHostSysctls();
  if (before.size < 100) throw new Error(`sysctl -a printed only ${before.size} net.* keys; cannot guard the host's sysctls`);
  // Test files compare against this in a test of their own (a teardown error alone is not counted as a failed test).
  project.provide("hostSysctlsBefore", Object.fromEntries(before));
  return () => {
    const diffs = diffSysctls(before, snapshotHostSysctls());
    if (diffs.length > 0) throw new Error(`the agent tests changed the host's own sysctls:\n${diffs.join("\n")}`);
  };
}
