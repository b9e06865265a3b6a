import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { COUNTER_HISTORY_MAX, type CounterSample } from "../../../src/api/v1alpha1/node-state.js";
import { appendSample, jitteredDelay, toSample } from "../../../src/agent/counter-history.js";
import { countersFrom, parseNetstat, parseSockstat, readTcpCounters } from "../../../src/agent/counters.js";

const NETSTAT = `TcpExt: SyncookiesSent TW TWRecycled TWKilled PAWSActive PAWSEstab TCPTimeWaitOverflow
TcpExt: 0 14 3 0 1 2 18446744073709551615
IpExt: InNoRoutes InTruncatedPkts
IpExt: 0 0
`;
const SOCKSTAT = `sockets: used 15
TCP: inuse 2 orphan 0 tw 7 alloc 2 mem 124
UDP: inuse 0 mem 0
`;

describe("TCP counters of the agent's network namespace", () => {
  it("reads TcpExt pairs of lines by name", () => {
    const m = parseNetstat(NETSTAT);
    expect(m.get("TcpExt.TWRecycled")).toBe("3");
    expect(m.get("IpExt.InNoRoutes")).toBe("0");
  });

  it("reads the TIME_WAIT count from sockstat", () => {
    expect(parseSockstat(SOCKSTAT).get("TCP.tw")).toBe("7");
  });

  it("keeps counters past 2^53 exact, as decimal strings", () => {
    const c = countersFrom(parseNetstat(NETSTAT), parseSockstat(SOCKSTAT), new Date("2026-01-01T00:00:00Z"));
    expect(c).toEqual({
      sampledAt: "2026-01-01T00:00:00.000Z",
      timeWait: "7",
      twRecycled: "3",
      pawsActive: "1",
      pawsEstab: "2",
      tcpTimeWaitOverflow: "18446744073709551615",
    });
  });
});

const SNMP = `Ip: Forwarding DefaultTTL InReceives
Ip: 1 64 1234
Tcp: RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens PassiveOpens AttemptFails EstabResets CurrEstab
Tcp: 1 200 120000 -1 4200 310 17 2 5
`;
const NETSTAT_GATE = `TcpExt: SyncookiesSent ListenOverflows ListenDrops TCPAbortOnTimeout
TcpExt: 0 41 43 2
`;

describe("the health gate's counters", () => {
  it("reads ListenOverflows, ListenDrops and TCPAbortOnTimeout from TcpExt, and AttemptFails and ActiveOpens from snmp's Tcp", () => {
    const merged = new Map([...parseNetstat(SNMP), ...parseNetstat(NETSTAT_GATE)]);
    expect(merged.get("Tcp.MaxConn")).toBe("-1");
    const c = countersFrom(merged, new Map(), new Date("2026-01-01T00:00:00Z"));
    expect(c).toEqual({
      sampledAt: "2026-01-01T00:00:00.000Z",
      listenOverflows: "41",
      listenDrops: "43",
      tcpAbortOnTimeout: "2",
      attemptFails: "17",
      activeOpens: "4200",
    });
  });

  it("reads them from a /proc/net folder, leaving out what a file does not have", async () => {
    const dir = await mkdtemp(join(tmpdir(), "tt-procnet-"));
    try {
      await writeFile(join(dir, "snmp"), SNMP);
      await writeFile(join(dir, "netstat"), NETSTAT_GATE);
      const c = await readTcpCounters(dir, new Date("2026-01-01T00:00:00Z"));
      expect(c).toMatchObject({ listenOverflows: "41", attemptFails: "17" });
      expect(c.timeWait).toBeUndefined();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("the counter history", () => {
  const s = (t: number, lo: string): CounterSample => ({ sampledAt: new Date(Date.UTC(2026, 0, 1, 0, 0, t)).toISOString(), listenOverflows: lo });

  it("keeps the newest samples, oldest first, and drops a sample not newer than the last", () => {
    let h: CounterSample[] = [];
    for (let t = 0; t < COUNTER_HISTORY_MAX + 3; t++) h = appendSample(h, s(t, String(t)));
    expect(h).toHaveLength(COUNTER_HISTORY_MAX);
    expect(h[0]?.listenOverflows).toBe("3");
    expect(appendSample(h, s(1, "x"))).toEqual(h);
  });

  it("takes the gate's counters and the boot id from a full sample", () => {
    expect(toSample({ sampledAt: "t", timeWait: "9", listenOverflows: "1", attemptFails: "2" }, "boot")).toEqual({
      sampledAt: "t",
      bootId: "boot",
      listenOverflows: "1",
      attemptFails: "2",
    });
  });

  it("jitters the sampling interval by at most 20 % either way", () => {
    expect(jitteredDelay(30_000, () => 0)).toBe(24_000);
    expect(jitteredDelay(30_000, () => 1)).toBe(36_000);
    expect(jitteredDelay(30_000, () => 0.5)).toBe(30_000);
  });
});
