/**
 * Steady-state status writes of a fleet of agents (issue 10): every agent's StatusWriteGate on a
 * simulated clock, each agent started at a random moment, drift checks every --drift-interval on an
 * unchanged node (only counters and sampling times move). Prints writes per second, all agents
 * together, next to the old rule (a write at every drift check).
 *
 *   npx tsx bench/agent-status-writes.ts [nodes=5000] [hours=2] [driftSeconds=60] [reportMinutes=10]
 */
import { StatusWriteGate } from "../src/agent/status-writes.js";
import type { NodeStateStatus } from "../src/api/v1alpha1/node-state.js";

const [nodes = 5000, hours = 2, driftSeconds = 60, reportMinutes = 10] = process.argv.slice(2).map(Number);
const driftMs = driftSeconds * 1000;

function status(t: number): NodeStateStatus {
  const at = new Date(t).toISOString();
  return {
    observedGeneration: 1,
    probe: { kernelRelease: "6.1.0", probedAt: at, keys: [{ name: "net.ipv4.tcp_tw_reuse", present: true, value: "1" }] },
    counters: { sampledAt: at, timeWait: String(t % 977) },
  };
}

let writes = 0;
let checks = 0;
for (let n = 0; n < nodes; n++) {
  const gate = new StatusWriteGate(reportMinutes * 60_000);
  const start = Math.floor(Math.random() * driftMs);
  gate.written(status(start), start);
  for (let t = start + driftMs; t < start + hours * 3_600_000; t += driftMs) {
    checks++;
    const s = status(t);
    if (gate.reason(s, t) !== undefined) {
      gate.written(s, t);
      writes++;
    }
  }
}
const seconds = hours * 3600;
console.log(`${nodes} agents, drift interval ${driftSeconds} s, counters report interval ${reportMinutes} min +-20 %, ${hours} h simulated`);
console.log(`  before (a write at every drift check): ${(checks / seconds).toFixed(1)} writes/s`);
console.log(`  now (on change, counters at the report interval): ${(writes / seconds).toFixed(1)} writes/s`);
