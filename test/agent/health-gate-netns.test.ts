import { afterAll, describe, expect, it } from "vitest";
import type { CounterSample } from "../../src/api/v1alpha1/node-state.js";
import { judgeHealth } from "../../src/controller/rollout/health-gate.js";
import { AgentProcess, agentFiles, eventually, readStatus, removeAgentFiles, writeDesired } from "./support/agent-process.js";
import { countersFrom, parseNetstat } from "../../src/agent/counters.js";
import { createNamespace, destroyAllNamespaces, destroyNamespace, nsExec, nsSysctl } from "./support/netns.js";
import { acceptQueueBurst } from "./support/tcp-burst.js";

/**
 * The health gate's arithmetic on counters a real agent sampled in a real network namespace:
 * the agent applies a change, a workload (a listener that stalls, and a bounded burst of local
 * connects) runs after it, and the gate judges the series the agent reported in
 * status.counterHistory. A lowered net.core.somaxconn overflows the listener's accept queue
 * (ListenOverflows, ListenDrops) and fails the gate; a harmless change with the same workload passes.
 */

const CONNECTIONS = 64;
const measured: string[] = [];

afterAll(async () => {
  await destroyAllNamespaces();
  if (measured.length > 0) console.log(`\n${measured.join("\n")}\n`);
});

function sampleAfter(history: readonly CounterSample[] | undefined, t: number): number {
  return (history ?? []).filter((s) => Date.parse(s.sampledAt) > t).length;
}

describe("the health gate on a real agent's counters", () => {
  it("reads a fresh namespace's counters: the kernel exposes all five the gate uses", async () => {
    const ns = await createNamespace();
    try {
      const [netstat, snmp] = await Promise.all([nsExec(ns, ["cat", "/proc/net/netstat"]), nsExec(ns, ["cat", "/proc/net/snmp"])]);
      const c = countersFrom(new Map([...parseNetstat(snmp), ...parseNetstat(netstat)]), new Map(), new Date());
      for (const k of ["listenOverflows", "listenDrops", "tcpAbortOnTimeout", "attemptFails", "activeOpens"] as const) expect(c[k], k).toBe("0");
    } finally {
      await destroyNamespace(ns);
    }
  });

  it.each([
    { label: "net.core.somaxconn=4 (the accept queue overflows)", sysctl: { name: "net.core.somaxconn", value: "4" }, healthy: false },
    { label: "net.ipv4.tcp_fin_timeout=30 (harmless here)", sysctl: { name: "net.ipv4.tcp_fin_timeout", value: "30" }, healthy: true },
  ])("$label", async ({ label, sysctl, healthy }) => {
    const ns = await createNamespace();
    const files = await agentFiles();
    let agent: AgentProcess | undefined;
    try {
      await writeDesired(files, "node-1", 1, []);
      agent = AgentProcess.start({
        ns,
        args: [
          "--node-name",
          "node-1",
          "--state-file",
          files.state,
          "--desired-file",
          files.desired,
          "--status-file",
          files.status,
          "--poll-interval",
          "100ms",
          "--drift-interval",
          "5s",
          "--counters-interval",
          "1s",
          "--counters-window",
          "5m",
        ],
      });
      // A baseline: a few samples before the change.
      await eventually("baseline samples", async () => ((await readStatus(files))?.counterHistory?.length ?? 0) >= 3 || undefined, 60_000);
      const changedAt = Date.now();
      await writeDesired(files, "node-1", 2, [sysctl]);
      await eventually(
        "the change applied",
        async () => {
          const s = await readStatus(files);
          return s?.observedGeneration === 2 && s.keys?.find((k) => k.name === sysctl.name)?.result === "Applied" ? true : undefined;
        },
        60_000,
      );
      expect(await nsSysctl(ns, sysctl.name)).toBe(sysctl.value);

      const outcomes = await acceptQueueBurst(ns, { port: 9090, connections: CONNECTIONS, stallMs: 2500, connectTimeoutMs: 1500 });
      const burstEnd = Date.now();
      const status = await eventually(
        "two samples after the burst",
        async () => {
          const s = await readStatus(files);
          return sampleAfter(s?.counterHistory, burstEnd) >= 2 ? s : undefined;
        },
        60_000,
      );
      const history = status.counterHistory ?? [];
      const [verdict] = judgeHealth({ changed: [{ name: "node-1", samples: history }], unchanged: [], changedAt: new Date(changedAt) });
      const first = history[0];
      const last = history.at(-1);
      measured.push(
        `${label}: burst ${JSON.stringify(outcomes)}; ListenOverflows ${first?.listenOverflows} -> ${last?.listenOverflows}, ListenDrops ${first?.listenDrops} -> ${last?.listenDrops} over ${history.length} samples; verdict: ${verdict?.message}`,
      );
      expect(
        history.some((s) => Date.parse(s.sampledAt) < changedAt),
        "a sample from before the change",
      ).toBe(true);
      expect(verdict?.healthy).toBe(healthy);
      if (!healthy) {
        expect(verdict?.findings.map((f) => f.counter)).toContain("listenOverflows");
        expect(outcomes["timeout"] ?? 0).toBeGreaterThan(0);
      } else {
        expect(outcomes).toEqual({ ok: CONNECTIONS });
        expect(verdict?.message).toMatch(/passed on \d counter/);
      }
    } finally {
      await agent?.stop();
      await destroyNamespace(ns);
      await removeAgentFiles(files);
    }
  });
});
