import { afterAll, describe, expect, it } from "vitest";
import type { NodeStateStatus } from "../../src/api/v1alpha1/node-state.js";
import { AgentProcess, agentFiles, eventually, readStatus, removeAgentFiles, writeDesired } from "./support/agent-process.js";
import { expectHostSysctlsUntouched } from "./support/host-guard.js";
import { createNamespace, destroyAllNamespaces, destroyNamespace, nsExec, nsSysctl } from "./support/netns.js";
import { burst, joinWithVeth, netstat, startServer, timeWaitCount } from "./support/tcp-burst.js";

/**
 * The effect, not just the file. For each row a fresh pair of namespaces (client, server) joined by
 * a veth pair; the agent applies the row's sysctls in the client namespace; a burst of short
 * connections where the client closes first then either runs out of ports (every port of the
 * narrow ip_local_port_range sits in TIME_WAIT: EADDRNOTAVAIL) or reuses TIME_WAIT ports
 * (tcp_tw_reuse=1 with timestamps; TWRecycled counts each reuse).
 */

const PORTS = "40000 40007"; // 8 ephemeral ports
const CONNECTIONS = 24;

interface Row {
  readonly label: string;
  readonly reuse: string;
  readonly timestamps: string;
  readonly expectAllOk: boolean;
}

const ROWS: Row[] = [
  { label: "tcp_tw_reuse=0, timestamps=1", reuse: "0", timestamps: "1", expectAllOk: false },
  { label: "tcp_tw_reuse=1, timestamps=1", reuse: "1", timestamps: "1", expectAllOk: true },
  { label: "tcp_tw_reuse=1, timestamps=0", reuse: "1", timestamps: "0", expectAllOk: false },
];

interface Measured {
  row: string;
  ok: number;
  eaddrnotavail: number;
  other: number;
  twRecycled: bigint;
  timeWaitAfter: number;
  agentTwRecycled: string | undefined;
}

const measured: Measured[] = [];

afterAll(async () => {
  await destroyAllNamespaces();
  if (measured.length > 0) {
    const lines = [
      `| client sysctls (ports ${PORTS}, ${CONNECTIONS} connections) | ok | EADDRNOTAVAIL | other | TWRecycled delta | TIME_WAIT after | agent status twRecycled |`,
      "|---|---|---|---|---|---|---|",
      ...measured.map((m) => `| ${m.row} | ${m.ok} | ${m.eaddrnotavail} | ${m.other} | ${m.twRecycled} | ${m.timeWaitAfter} | ${m.agentTwRecycled ?? "-"} |`),
    ];
    console.log(`\n${lines.join("\n")}\n`);
  }
});

describe("the effect of tcp_tw_reuse as the agent applies it, between two namespaces", () => {
  it.each(ROWS)("$label", async (row) => {
    const client = await createNamespace();
    const server = await createNamespace();
    const files = await agentFiles();
    let agent: AgentProcess | undefined;
    let srv: Awaited<ReturnType<typeof startServer>> | undefined;
    try {
      await joinWithVeth(client, server);
      const hasDelay = await nsExec(client, ["test", "-e", "/proc/sys/net/ipv4/tcp_tw_reuse_delay"]).then(
        () => true,
        () => false,
      );
      const sysctls = [
        { name: "net.ipv4.ip_local_port_range", value: PORTS },
        { name: "net.ipv4.tcp_timestamps", value: row.timestamps },
        { name: "net.ipv4.tcp_tw_reuse", value: row.reuse },
        // 6.14+: reuse only after tcp_tw_reuse_delay ms (default 1000); older kernels: about 1 s.
        ...(hasDelay ? [{ name: "net.ipv4.tcp_tw_reuse_delay", value: "1" }] : []),
      ];
      await writeDesired(files, "client", 1, sysctls);
      agent = AgentProcess.start({
        ns: client,
        args: [
          "--node-name",
          "client",
          "--state-file",
          files.state,
          "--desired-file",
          files.desired,
          "--status-file",
          files.status,
          "--poll-interval",
          "100ms",
          "--drift-interval",
          "200ms",
          "--counters-report-interval",
          "500ms",
        ],
      });
      await eventually("the row's sysctls applied", async () => {
        const s = await readStatus(files);
        return s?.conditions?.find((c) => c.type === "Applied" && c.status === "True") ? s : undefined;
      });
      expect(await nsSysctl(client, "net.ipv4.ip_local_port_range")).toBe(PORTS);
      expect(await nsSysctl(client, "net.ipv4.tcp_tw_reuse")).toBe(row.reuse);
      srv = await startServer(server);

      const before = (await netstat(client)).get("TWRecycled") ?? 0n;
      // Connections 3 ms apart: a port comes round again after 8 connections (>= 24 ms), past a 1 ms
      // tcp_tw_reuse_delay; without that key (before 6.14) reuse needs 1-2 s, so 300 ms apart.
      const outcomes = await burst(client, CONNECTIONS, hasDelay ? 3 : 300);
      const twRecycled = ((await netstat(client)).get("TWRecycled") ?? 0n) - before;
      const timeWaitAfter = await timeWaitCount(client);
      const ok = outcomes["ok"] ?? 0;
      const eaddrnotavail = outcomes["EADDRNOTAVAIL"] ?? 0;
      // The agent reports the same counter in status (written on their own every --counters-report-interval).
      const status: NodeStateStatus = await eventually("agent counters after the burst", async () => {
        const s = await readStatus(files);
        return s?.counters && BigInt(s.counters.twRecycled ?? "0") >= twRecycled && Date.parse(s.counters.sampledAt) > 0 ? s : undefined;
      });
      measured.push({
        row: row.label,
        ok,
        eaddrnotavail,
        other: CONNECTIONS - ok - eaddrnotavail,
        twRecycled,
        timeWaitAfter,
        agentTwRecycled: status.counters?.twRecycled,
      });

      if (row.expectAllOk) {
        expect(outcomes).toEqual({ ok: CONNECTIONS });
        expect(twRecycled).toBeGreaterThanOrEqual(BigInt(CONNECTIONS - 8));
      } else {
        expect(outcomes).toEqual({ ok: 8, EADDRNOTAVAIL: CONNECTIONS - 8 });
        expect(twRecycled).toBe(0n);
        expect(timeWaitAfter).toBe(8);
      }
    } finally {
      srv?.kill("SIGKILL");
      await agent?.stop("SIGKILL");
      await destroyNamespace(client);
      await destroyNamespace(server);
      await removeAgentFiles(files);
    }
  });

  it("left the host's own sysctls untouched", () => {
    expectHostSysctlsUntouched();
  });
});
