import { lookupSysctl } from "../catalog.js";
import { probedValue, type PreparedNode } from "../node-facts.js";
import type { PreparedPolicy } from "../prepared-policy.js";
import type { Rule } from "../rule.js";
import { entryReport } from "../rule.js";
import { parseValue } from "../value-grammar.js";
import { requestedRange, reservedByPolicy } from "./port-range.js";

const RANGE = "net.ipv4.ip_local_port_range";
const RESERVED = "net.ipv4.ip_local_reserved_ports";
const RESERVED_SPEC = lookupSysctl(RESERVED);
/** The kernel's default range on every kernel in scope from 4.2 ("32768 61000" before). */
const DEFAULT_RANGE = { low: 32768, high: 60999 } as const;
/**
 * Fewer ephemeral ports than this and a busy client runs out: each (source address, destination
 * address, destination port) can hold one connection per port, and each closed one keeps its port in
 * TIME_WAIT for 60 s, so 1024 ports carry about 17 new connections per second to one backend.
 */
export const FEW_EPHEMERAL_PORTS = 1024;
const REF = {
  title: "net/ipv4/inet_hashtables.c __inet_hash_connect(): ports in ip_local_reserved_ports are skipped; with none left connect() fails with EADDRNOTAVAIL",
};

type Ranges = readonly (readonly [number, number])[];

/** Ports of [low, high] that no reserved range covers. */
export function freePorts(low: number, high: number, reserved: Ranges): number {
  const cuts = reserved
    .map(([l, h]) => [Math.max(l, low), Math.min(h, high)] as const)
    .filter(([l, h]) => l <= h)
    .sort((a, b) => a[0] - b[0]);
  let taken = 0;
  let next = low;
  for (const [l, h] of cuts) {
    const from = Math.max(l, next);
    if (from <= h) taken += h - from + 1;
    next = Math.max(next, h + 1);
  }
  return high - low + 1 - taken;
}

function probedReserved(node: PreparedNode): Ranges | undefined {
  const raw = probedValue(node, RESERVED);
  if (raw === undefined || !RESERVED_SPEC) return undefined;
  const parsed = parseValue(RESERVED_SPEC.grammar, raw);
  return parsed.ok && parsed.value.kind === "portList" ? parsed.value.ranges : undefined;
}

function probedRange(node: PreparedNode): { low: number; high: number } | undefined {
  const [low, high] = (probedValue(node, RANGE) ?? "").split(" ").map(Number);
  return Number.isInteger(low) && Number.isInteger(high) ? { low: low as number, high: high as number } : undefined;
}

function verdict(
  free: number,
  range: { low: number; high: number },
  where: string,
  reservedFrom: string,
): { severity: "deny" | "warn"; text: string } | undefined {
  const span = `"${range.low} ${range.high}"`;
  if (free === 0) {
    return {
      severity: "deny",
      text: `leaves no ephemeral port ${where}: ${RANGE}=${span} is entirely covered by ${RESERVED} (${reservedFrom}), so every connect() without an explicit bind fails with EADDRNOTAVAIL. Reserve only the ports that listen, or widen the range.`,
    };
  }
  if (free < FEW_EPHEMERAL_PORTS) {
    return {
      severity: "warn",
      text: `leaves only ${free} ephemeral port${free === 1 ? "" : "s"} ${where} (${RANGE}=${span}, minus ${RESERVED} ${reservedFrom}): each closed connection holds its port in TIME_WAIT for 60 s, so connect() fails with EADDRNOTAVAIL under load. Keep at least ${FEW_EPHEMERAL_PORTS} ports free; the default range has 28232.`,
    };
  }
  return undefined;
}

function setsRange(policy: PreparedPolicy): boolean {
  return requestedRange(policy) !== undefined;
}

function setsReserved(policy: PreparedPolicy): boolean {
  return policy.byName.get(RESERVED)?.parsed?.kind === "portList";
}

/**
 * TT023: ip_local_port_range with no port left after ip_local_reserved_ports (deny), or only a few
 * (warn). Judged on the policy when it sets the range; on each node when the policy sets only one of
 * the two keys and the node's other value (probed, or the kernel default) decides.
 */
export const ephemeralPortsExhaustedRule: Rule = {
  id: "TT023",
  name: "ephemeral-ports-exhausted",
  severity: "deny",
  summary: "ip_local_port_range leaves no ephemeral port after ip_local_reserved_ports (deny), or only a few (warn).",
  reference: REF,
  nodeCheckApplies: (policy) => setsRange(policy) !== setsReserved(policy),
  checkPolicy(policy, emit) {
    const range = requestedRange(policy);
    const e = policy.byName.get(RANGE);
    if (!range || !e) return;
    const reserved = reservedByPolicy(policy);
    const v = verdict(
      freePorts(range.low, range.high, reserved),
      range,
      "on every matched node",
      reserved.length > 0 ? "as this policy sets it" : "none reserved",
    );
    if (v) emit(entryReport(e, `${RANGE}="${range.low} ${range.high}" ${v.text}`, { severity: v.severity }));
  },
  checkNode(policy, node, emit) {
    const range = requestedRange(policy);
    if (range) {
      // The policy's range against the node's own reservations (the policy sets none).
      const e = policy.byName.get(RANGE);
      const reserved = probedReserved(node);
      if (!e || !reserved || reserved.length === 0) return;
      if (verdict(freePorts(range.low, range.high, []), range, "", "") !== undefined) return; // checkPolicy said it already
      const v = verdict(freePorts(range.low, range.high, reserved), range, `on node ${node.name}`, "as the node agent probed it");
      if (v) emit(entryReport(e, `${RANGE}="${range.low} ${range.high}" ${v.text}`, { severity: v.severity }));
      return;
    }
    const e = policy.byName.get(RESERVED);
    if (!e) return;
    const nodeRange = probedRange(node);
    const r = nodeRange ?? DEFAULT_RANGE;
    const v = verdict(freePorts(r.low, r.high, reservedByPolicy(policy)), r, `on node ${node.name}`, "as this policy sets it");
    if (v)
      emit(
        entryReport(
          e,
          `${RESERVED}="${e.normalized}" with the node's ${RANGE} (${nodeRange ? "as the node agent probed it" : "the kernel default"}) ${v.text}`,
          { severity: v.severity },
        ),
      );
  },
};
