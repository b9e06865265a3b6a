import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { Agent, type AgentBackend, type AgentEvent, type DesiredState } from "../../../src/agent/main.js";
import { createSysctlFs } from "../../../src/agent/sysctl-fs.js";
import type { NodeStateStatus } from "../../../src/api/v1alpha1/node-state.js";
import { createLogger } from "../../../src/log.js";

/**
 * A missing state file with originals in the agent's last status: taken back only when that status
 * was written in this very boot. After a reboot (or on a replaced machine with the same node name)
 * the kernel is back to its own defaults, which are then the originals. The Agent runs in-process on
 * a plain-file sysctl tree whose kernel/random/boot_id says which boot this is.
 */

const REUSE = "net.ipv4.tcp_tw_reuse";
const dirs: string[] = [];

afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

function backendWith(desired: DesiredState): AgentBackend & { statuses: NodeStateStatus[]; events: AgentEvent[] } {
  const statuses: NodeStateStatus[] = [];
  const events: AgentEvent[] = [];
  return {
    statuses,
    events,
    async start(onDesired) {
      onDesired(desired);
    },
    async writeStatus(s) {
      statuses.push(s);
    },
    async emitEvent(e) {
      events.push(e);
    },
    async stop() {},
  };
}

describe("originals taken back from status when the state file is missing", () => {
  it.each([
    ["the same boot: the kernel still holds the agent's values", "boot-a", "boot-a", "2", true],
    ["another boot: the kernel is back to its defaults, which are the originals now", "boot-a", "boot-b", "1", false],
  ])("%s", async (_what, reportedBoot, currentBoot, expectedOriginal, recovered) => {
    const root = await mkdtemp(join(tmpdir(), "tt-recover-"));
    dirs.push(root);
    await mkdir(join(root, "net/ipv4"), { recursive: true });
    await mkdir(join(root, "kernel/random"), { recursive: true });
    await writeFile(join(root, "net/ipv4/tcp_tw_reuse"), "1\n");
    await writeFile(join(root, "kernel/random/boot_id"), `${currentBoot}\n`);
    const stateFile = join(root, "state", "agent-state.json");
    const status: NodeStateStatus = {
      observedGeneration: 1,
      probe: { kernelRelease: "6.1.0", bootId: reportedBoot, probedAt: "2026-01-01T00:00:00Z", keys: [] },
      originals: [{ name: REUSE, value: "2", recordedAt: "2026-01-01T00:00:00Z" }],
    };
    const backend = backendWith({ generation: 1, sysctls: [{ name: REUSE, value: "1" }], deleted: false, status });
    const agent = new Agent({
      nodeName: "n",
      fs: createSysctlFs(root),
      stateFile,
      procNet: join(root, "no-proc-net"),
      driftIntervalMs: 3_600_000,
      backend,
      log: createLogger("test", { level: "silent" }),
    });
    await agent.start();
    await agent.idle();
    await agent.stop();

    const onDisk = JSON.parse(await readFile(stateFile, "utf8")) as { originals: { name: string; value: string }[] };
    expect(onDisk.originals.map((o) => [o.name, o.value])).toEqual([[REUSE, expectedOriginal]]);
    expect(backend.statuses.at(-1)?.originals?.map((o) => o.value)).toEqual([expectedOriginal]);
    expect(backend.statuses.at(-1)?.probe?.bootId).toBe(currentBoot);
    expect(backend.events.some((e) => e.reason === "OriginalsRecovered")).toBe(recovered);
  });
});

describe("originals across a reboot of the kernel", () => {
  async function run(opts: { fileBoot: string | undefined; currentBoot: string; kernelReuse: string; desired: string[]; originals: [string, string][] }) {
    const root = await mkdtemp(join(tmpdir(), "tt-reboot-"));
    dirs.push(root);
    await mkdir(join(root, "net/ipv4"), { recursive: true });
    await mkdir(join(root, "kernel/random"), { recursive: true });
    await writeFile(join(root, "net/ipv4/tcp_tw_reuse"), `${opts.kernelReuse}\n`);
    await writeFile(join(root, "net/ipv4/tcp_fin_timeout"), "60\n");
    await writeFile(join(root, "kernel/random/boot_id"), `${opts.currentBoot}\n`);
    const stateFile = join(root, "agent-state.json");
    await writeFile(
      stateFile,
      JSON.stringify({
        version: 1,
        ...(opts.fileBoot ? { bootId: opts.fileBoot } : {}),
        originals: opts.originals.map(([name, value]) => ({ name, value, recordedAt: "2026-01-01T00:00:00Z" })),
      }),
      { mode: 0o600 },
    );
    const backend = backendWith({
      generation: 2,
      sysctls: opts.desired.map((d) => ({ name: d.split("=")[0] ?? "", value: d.split("=")[1] ?? "", policy: "p" })),
      deleted: false,
    });
    const agent = new Agent({
      nodeName: "n",
      fs: createSysctlFs(root),
      stateFile,
      procNet: join(root, "no-proc-net"),
      driftIntervalMs: 3_600_000,
      backend,
      log: createLogger("test", { level: "silent" }),
    });
    await agent.start();
    await agent.idle();
    await agent.stop();
    const onDisk = JSON.parse(await readFile(stateFile, "utf8")) as { bootId?: string; originals: { name: string; value: string }[] };
    return {
      bootId: onDisk.bootId,
      originals: Object.fromEntries(onDisk.originals.map((o) => [o.name, o.value])),
      kernel: {
        reuse: (await readFile(join(root, "net/ipv4/tcp_tw_reuse"), "utf8")).trim(),
        fin: (await readFile(join(root, "net/ipv4/tcp_fin_timeout"), "utf8")).trim(),
      },
      events: backend.events.map((e) => e.reason),
    };
  }

  it("keeps the originals after a restart in the same boot (the kernel holds the agent's values)", async () => {
    const r = await run({ fileBoot: "boot-a", currentBoot: "boot-a", kernelReuse: "1", desired: [`${REUSE}=1`], originals: [[REUSE, "2"]] });
    expect(r).toMatchObject({ bootId: "boot-a", originals: { [REUSE]: "2" }, kernel: { reuse: "1" } });
    expect(r.events).not.toContain("NewBoot");
  });

  it("reads the originals again after a reboot, instead of keeping the previous boot's", async () => {
    // After the reboot the OS set tcp_tw_reuse=0 (a newer default or sysctl.conf): that is what the agent replaces now.
    const r = await run({ fileBoot: "boot-a", currentBoot: "boot-b", kernelReuse: "0", desired: [`${REUSE}=1`], originals: [[REUSE, "2"]] });
    expect(r).toMatchObject({ bootId: "boot-b", originals: { [REUSE]: "0" }, kernel: { reuse: "1" } });
    expect(r.events).toContain("NewBoot");
  });

  it("does not 'restore' a previous boot's original over the value the kernel booted with", async () => {
    const r = await run({ fileBoot: "boot-a", currentBoot: "boot-b", kernelReuse: "0", desired: [], originals: [[REUSE, "2"]] });
    expect(r).toMatchObject({ bootId: "boot-b", originals: {}, kernel: { reuse: "0" } });
    expect(r.events).not.toContain("Restored");
  });

  it("takes a state file without a boot id (an older agent's) as this boot's, and stamps it", async () => {
    const r = await run({
      fileBoot: undefined,
      currentBoot: "boot-a",
      kernelReuse: "1",
      desired: [`${REUSE}=1`, "net.ipv4.tcp_fin_timeout=30"],
      originals: [[REUSE, "2"]],
    });
    expect(r).toMatchObject({ bootId: "boot-a", originals: { [REUSE]: "2", "net.ipv4.tcp_fin_timeout": "60" }, kernel: { reuse: "1", fin: "30" } });
  });
});
