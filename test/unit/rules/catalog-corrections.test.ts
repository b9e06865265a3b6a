import { describe, expect, it } from "vitest";
import { lookupSysctl, type SysctlSpec } from "../../../src/rules/index.js";

/**
 * Facts the catalog once had wrong, each pinned to its primary source (a kernel file and function,
 * or a commit) so the mistake cannot come back unnoticed.
 */
const spec = (name: string): SysctlSpec => {
  const s = lookupSysctl(name);
  if (!s) throw new Error(`${name} is not in the catalog`);
  return s;
};
const text = (s: SysctlSpec): string => [s.summary, ...s.hazards, ...s.references.map((r) => r.title)].join("\n");

const CORRECTIONS: readonly (readonly [correction: string, source: string, check: () => void])[] = [
  [
    "tcp_timestamps=0 loses RTT samples for retransmitted data, not RTT measurement",
    "net/ipv4/tcp_input.c tcp_ack_update_rtt()",
    () => {
      const s = spec("net.ipv4.tcp_timestamps");
      expect(text(s)).not.toMatch(/disables PAWS, RTT measurement/);
      expect(text(s)).toMatch(/tcp_ack_update_rtt\(\)/);
      expect(text(s)).toMatch(/retransmitted data/);
    },
  ],
];

describe("catalog corrections, each pinned to its source", () => {
  it.each(CORRECTIONS)("%s (%s)", (_correction, _source, check) => check());
});
