import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { TcpCounters } from "../api/v1alpha1/node-state.js";

/**
 * TCP counters of the network namespace the agent runs in: /proc/net is /proc/self/net, so the
 * numbers are this namespace's own. Values stay decimal strings (they can pass 2^53).
 */

/** "TcpExt: A B C" / "TcpExt: 1 2 3" line pairs -> { "TcpExt.A": "1", ... }. */
export function parseNetstat(text: string): Map<string, string> {
  const out = new Map<string, string>();
  const lines = text.split("\n").filter((l) => l.trim() !== "");
  for (let i = 0; i + 1 < lines.length; i += 2) {
    const head = (lines[i] ?? "").trim().split(/\s+/);
    const vals = (lines[i + 1] ?? "").trim().split(/\s+/);
    const section = head[0];
    if (!section?.endsWith(":") || vals[0] !== section) continue;
    for (let j = 1; j < head.length; j++) {
      const v = vals[j];
      if (v !== undefined && /^-?\d+$/.test(v)) out.set(`${section.slice(0, -1)}.${head[j]}`, v);
    }
  }
  return out;
}

/** "TCP: inuse 2 orphan 0 tw 1 alloc 2 mem 124" -> { "TCP.tw": "1", ... }. */
export function parseSockstat(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split("\n")) {
    const m = /^(\w+):\s+(.*)$/.exec(line.trim());
    if (!m) continue;
    const fields = (m[2] ?? "").split(/\s+/);
    for (let j = 0; j + 1 < fields.length; j += 2) {
      const v = fields[j + 1];
      if (v !== undefined && /^\d+$/.test(v)) out.set(`${m[1]}.${fields[j]}`, v);
    }
  }
  return out;
}

/** /proc/net/netstat and /proc/net/snmp share one format, so one map holds both ("TcpExt.X", "Tcp.Y"). */
export function countersFrom(netstat: Map<string, string>, sockstat: Map<string, string>, now: Date): TcpCounters {
  const pick = (key: string, from: Map<string, string>): string | undefined => from.get(key);
  const entries: [keyof TcpCounters, string | undefined][] = [
    ["timeWait", pick("TCP.tw", sockstat)],
    ["twRecycled", pick("TcpExt.TWRecycled", netstat)],
    ["pawsActive", pick("TcpExt.PAWSActive", netstat)],
    ["pawsEstab", pick("TcpExt.PAWSEstab", netstat)],
    ["pawsPassive", pick("TcpExt.PAWSPassive", netstat)],
    ["tcpTimeWaitOverflow", pick("TcpExt.TCPTimeWaitOverflow", netstat)],
    ["listenOverflows", pick("TcpExt.ListenOverflows", netstat)],
    ["listenDrops", pick("TcpExt.ListenDrops", netstat)],
    ["tcpAbortOnTimeout", pick("TcpExt.TCPAbortOnTimeout", netstat)],
    ["attemptFails", pick("Tcp.AttemptFails", netstat)],
    ["activeOpens", pick("Tcp.ActiveOpens", netstat)],
  ];
  const counters: TcpCounters = { sampledAt: now.toISOString() };
  for (const [k, v] of entries) if (v !== undefined) (counters as Record<string, string>)[k] = v;
  return counters;
}

/** Samples the counters; a missing file yields the counters that could be read. */
export async function readTcpCounters(procNet = "/proc/net", now = new Date()): Promise<TcpCounters> {
  const [netstat, snmp, sockstat] = await Promise.all([
    readFile(join(procNet, "netstat"), "utf8").catch(() => ""),
    readFile(join(procNet, "snmp"), "utf8").catch(() => ""),
    readFile(join(procNet, "sockstat"), "utf8").catch(() => ""),
  ]);
  return countersFrom(new Map([...parseNetstat(snmp), ...parseNetstat(netstat)]), parseSockstat(sockstat), now);
}
