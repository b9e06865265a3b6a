/**
 * Runs inside a network namespace (`ip netns exec NS node agent-apply.js --rounds N --state DIR`):
 * times the agent's reconcile pass (apply 10 keys, read each back to verify, record originals in the
 * state file) against a shell loop of `sysctl -w` and `sysctl -n` for the same keys, alternating two
 * value sets so every round really writes. Prints one JSON line with the times in ms.
 */
import { execFileSync } from "node:child_process";
import { parseArgs } from "node:util";
import { reconcile } from "../../src/agent/reconcile.js";
import { createSysctlFs } from "../../src/agent/sysctl-fs.js";
import { createLogger } from "../../src/log.js";
import { KEYS } from "./agent-keys.js";

const { values } = parseArgs({ options: { rounds: { type: "string", default: "5" }, state: { type: "string" } } });
const rounds = Number(values.rounds);
const log = createLogger("bench-agent", { level: "silent", pretty: false });
const ctx = { fs: createSysctlFs("/proc/sys"), stateFile: `${values.state}/state.json`, log };

const agentMs: number[] = [];
const sysctlMs: number[] = [];
for (let r = 0; r < rounds; r++) {
  for (const side of [1, 2] as const) {
    const desired = KEYS.map(([name, a, b]) => ({ name, value: side === 1 ? a : b, policy: "bench" }));
    let t = performance.now();
    const result = await reconcile(desired, ctx);
    agentMs.push(performance.now() - t);
    if (!result.applied) throw new Error(`the agent did not apply: ${JSON.stringify(result.keys)}`);
    // The same keys with the other values, by `sysctl -w` then `sysctl -n` for each (one shell).
    const script = KEYS.map(
      ([name, a, b]) => `sysctl -q -w ${name}="${side === 1 ? b : a}" && [ "$(sysctl -n ${name} | tr -s '\\t ' ' ')" = "${side === 1 ? b : a}" ]`,
    ).join(" && ");
    t = performance.now();
    execFileSync("sh", ["-c", script]);
    sysctlMs.push(performance.now() - t);
  }
}
process.stdout.write(`${JSON.stringify({ agentMs, sysctlMs })}\n`);
