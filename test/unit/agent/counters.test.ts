import { describe, expect, it } from "vitest";
import { countersFrom, parseNetstat, parseSockstat } from "../../../src/agent/counters.js";

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
    expect(c).toEqual({ sampledAt: "2026-01-01T00:00:00.000Z", timeWait: "7", twRecycled: "3", pawsActive: "1", pawsEstab: "2", tcpTimeWaitOverflow: "18446744073709551615" });
  });
});
