/**
 * Run inside a network namespace (under strace) by writer-fuzz.test.ts: feeds every generated
 * (name, value) pair of the input file to the agent's sysctl writer, the only code that turns a name
 * into a path and writes, and records what each write did. Not part of the agent.
 *
 *   node --import tsx writer-fuzz-driver.ts PAIRS.json RESULTS.json
 */
import { readFileSync, writeFileSync } from "node:fs";
import { createSysctlFs, SysctlRefusedError } from "../../../src/agent/sysctl-fs.js";

const [input, output] = process.argv.slice(2);
if (!input || !output) throw new Error("usage: writer-fuzz-driver.ts PAIRS.json RESULTS.json");
const pairs = JSON.parse(readFileSync(input, "utf8")) as { name: string; value: string }[];
const fs = createSysctlFs("/proc/sys");
const results: { name: string; value: string; result: "written" | "refused" | "failed"; actual?: string }[] = [];
for (const { name, value } of pairs) {
  try {
    const actual = await fs.write(name, value);
    results.push({ name, value, result: "written", actual });
  } catch (err) {
    results.push({ name, value, result: err instanceof SysctlRefusedError ? "refused" : "failed" });
  }
}
writeFileSync(output, JSON.stringify(results));
