import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { NodeStateStatus } from "../../src/api/v1alpha1/node-state.js";
import { AgentProcess, agentFiles, eventually, readEventsWhen, readStatus, removeAgentFiles, writeDesired } from "./support/agent-process.js";
import { expectHostSysctlsUntouched } from "./support/host-guard.js";
import { createNamespace, destroyAllNamespaces, nsSysctl } from "./support/netns.js";

/**
 * A per-node state that asks for kernel.core_pattern (global to the host even from inside a network
 * namespace: writing it would hand root to whoever controls the pattern). The CRD's CEL rules refuse
 * such names at the API server, so the test bypasses the API: it feeds the agent the state document
 * directly through --desired-file, the situation of a compromised controller or a CRD installed
 * without its validation. The agent must refuse on its own, and strace must show that no file outside
 * <root>/net was opened for writing (and core_pattern not opened at all).
 */

const NODE = "node-evil";
const EVIL = "|/tmp/tt-evil %p";

interface Open {
  path: string;
  flags: string;
}

/** openat/open lines of every traced thread (`strace -ff` writes one file per thread, no interleaving). */
async function traceOpens(dir: string, prefix: string): Promise<Open[]> {
  const opens: Open[] = [];
  for (const f of await readdir(dir)) {
    if (!f.startsWith(`${prefix}.`)) continue;
    for (const line of (await readFile(join(dir, f), "utf8")).split("\n")) {
      const m = /^(?:openat2?\((?:AT_FDCWD|\d+), |open\(|creat\()"((?:[^"\\]|\\.)*)",\s*([A-Z_|]+|\{[^}]*\})/.exec(line);
      if (m?.[1] !== undefined && m[2] !== undefined) opens.push({ path: m[1], flags: m[2] });
    }
  }
  return opens;
}

const isWriteOpen = (o: Open): boolean => /O_WRONLY|O_RDWR|O_CREAT|O_TRUNC/.test(o.flags) || o.flags === "";

function resultsOf(s: NodeStateStatus | undefined): Record<string, string> {
  return Object.fromEntries((s?.keys ?? []).map((k) => [k.name, k.result]));
}

afterAll(destroyAllNamespaces);

describe("the agent refuses sysctls outside the allowlist even when the API would have let them through", () => {
  it("refuses kernel.core_pattern and net/ipv4/../../kernel/core_pattern, and opens nothing outside /proc/sys/net for writing", async () => {
    const ns = await createNamespace();
    const files = await agentFiles();
    const corePattern = await readFile("/proc/sys/kernel/core_pattern", "utf8");
    const reuseBefore = await nsSysctl(ns, "net.ipv4.tcp_tw_reuse");
    let agent: AgentProcess | undefined;
    try {
      await writeDesired(files, NODE, 1, [
        { name: "kernel.core_pattern", value: EVIL },
        { name: "net/ipv4/../../kernel/core_pattern", value: EVIL },
        { name: "net.ipv4.tcp_tw_reuse", value: "1" },
      ]);
      agent = AgentProcess.start({
        ns,
        args: [
          "--node-name",
          NODE,
          "--state-file",
          files.state,
          "--desired-file",
          files.desired,
          "--status-file",
          files.status,
          "--events-file",
          files.events,
          "--poll-interval",
          "100ms",
        ],
        straceOutput: join(files.dir, "trace"),
      });
      const s1 = await eventually("status of generation 1", async () => {
        const s = await readStatus(files);
        return s?.observedGeneration === 1 ? s : undefined;
      });
      expect(resultsOf(s1)).toEqual({ "kernel.core_pattern": "Refused", "net/ipv4/../../kernel/core_pattern": "Refused", "net.ipv4.tcp_tw_reuse": "Pending" });
      expect(s1.keys?.find((k) => k.name === "kernel.core_pattern")?.message).toMatch(/out of scope/);
      expect(s1.keys?.find((k) => k.name.startsWith("net/"))?.message).toMatch(/contains '\/'/);
      expect(s1.conditions?.find((c) => c.type === "Degraded")).toMatchObject({ status: "True", reason: "Refused" });
      expect((await readEventsWhen(files, (ev) => ev.some((e) => e.reason === "SysctlRefused"))).map((e) => `${e.type}/${e.reason}`)).toContain(
        "Warning/SysctlRefused",
      );
      // All-or-nothing: the allowed key in the same generation was not written either.
      expect(await nsSysctl(ns, "net.ipv4.tcp_tw_reuse")).toBe(reuseBefore);

      // A clean generation next, so the trace provably records the agent's sysctl writes.
      await writeDesired(files, NODE, 2, [{ name: "net.ipv4.tcp_tw_reuse", value: "1" }]);
      await eventually("status of generation 2", async () => {
        const s = await readStatus(files);
        return s?.observedGeneration === 2 && resultsOf(s)["net.ipv4.tcp_tw_reuse"] === "Applied" ? s : undefined;
      });

      // Stop the traced node process itself (strace's child) with SIGTERM, so the trace is complete.
      const children = (await readFile(`/proc/${agent.pid}/task/${agent.pid}/children`, "utf8")).trim().split(/\s+/);
      expect(children).toHaveLength(1);
      process.kill(Number(children[0]), "SIGTERM");
      expect((await agent.exited).code).toBe(0);

      const opens = await traceOpens(files.dir, "trace");
      expect(opens.length).toBeGreaterThan(50);
      expect(opens.filter((o) => o.path.includes("core_pattern"))).toEqual([]);
      const writes = opens.filter(isWriteOpen);
      expect(writes.map((o) => o.path)).toContain("/proc/sys/net/ipv4/tcp_tw_reuse");
      const outside = writes.filter((o) => !o.path.startsWith("/proc/sys/net/") && !o.path.startsWith(`${files.dir}/`));
      expect(outside).toEqual([]);
      expect(writes.filter((o) => o.path.startsWith("/proc/sys/net/")).every((o) => o.flags.includes("O_NOFOLLOW") && !o.flags.includes("O_CREAT"))).toBe(true);
      expect(await readFile("/proc/sys/kernel/core_pattern", "utf8")).toBe(corePattern);
    } finally {
      await agent?.stop("SIGKILL");
      await removeAgentFiles(files);
    }
  });

  it("left the host's own sysctls untouched", () => {
    expectHostSysctlsUntouched();
  });
});
