/**
 * One write through the agent's SysctlFs, run inside a network namespace by `ip netns exec` (sysctls
 * under /proc/sys/net belong to the namespace of the process that opens them). Prints one JSON line:
 * { ok, actual } or { ok: false, message, code, readBack }.
 */
import { createSysctlFs, SysctlIoError } from "../../../src/agent/sysctl-fs.js";

const [name = "", value = ""] = process.argv.slice(2);
try {
  const actual = await createSysctlFs().write(name, value);
  process.stdout.write(`${JSON.stringify({ ok: true, actual })}\n`);
} catch (err) {
  const io = err instanceof SysctlIoError ? err : undefined;
  process.stdout.write(`${JSON.stringify({ ok: false, message: (err as Error).message, code: io?.code, readBack: io?.readBack })}\n`);
}
