import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { createNamespace, destroyAllNamespaces, nsSysctl, nsSysctlWrite } from "./support/netns.js";

const run = promisify(execFile);
const SCRIPT = join(import.meta.dirname, "support", "sysctl-write.ts");

interface WriteOutcome {
  readonly ok: boolean;
  readonly actual?: string;
  readonly message?: string;
  readonly code?: string;
  readonly readBack?: string;
}

/** One SysctlFs.write inside the namespace, in a process of its own. */
async function agentWrite(ns: string, name: string, value: string): Promise<WriteOutcome> {
  const { stdout } = await run("ip", ["netns", "exec", ns, process.execPath, "--import", "tsx", SCRIPT, name, value], { timeout: 60_000 });
  return JSON.parse(stdout.trim()) as WriteOutcome;
}

afterAll(async () => {
  await destroyAllNamespaces();
});

describe("the agent's sysctl writes on a real kernel, in a network namespace", () => {
  it("reads a vector back after the kernel refused it part-way, and reports what it holds", async () => {
    const ns = await createNamespace();
    await nsSysctlWrite(ns, "net.ipv4.tcp_wmem", "4096 16384 4194304");
    // proc_dointvec_minmax stores field by field: the third field (above INT_MAX) is refused after the
    // first two were stored.
    const out = await agentWrite(ns, "net.ipv4.tcp_wmem", "8192 32768 2147483648");
    expect(out).toMatchObject({ ok: false, code: "EINVAL", readBack: "8192 32768 4194304" });
    expect(out.message).toMatch(/reads back "8192 32768 4194304"/);
    expect(await nsSysctl(ns, "net.ipv4.tcp_wmem")).toBe("8192 32768 4194304");
  }, 120_000);

  it("reads back a port range the kernel refused whole, unchanged", async () => {
    const ns = await createNamespace();
    const out = await agentWrite(ns, "net.ipv4.ip_local_port_range", "40000 65536");
    expect(out).toMatchObject({ ok: false, code: "EINVAL", readBack: "32768 60999" });
    expect(await nsSysctl(ns, "net.ipv4.ip_local_port_range")).toBe("32768 60999");
  }, 120_000);
});
