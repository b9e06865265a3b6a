import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { Agent, type AgentBackend, type AgentEvent, type DesiredState } from "../../../../src/agent/main.js";
import { createSysctlFs } from "../../../../src/agent/sysctl-fs.js";
import type { NodeStateStatus } from "../../../../src/api/v1alpha1/node-state.js";
import { createLogger } from "../../../../src/log.js";

/** A plain-file sysctl tree with the layout of /proc/sys, for in-process agent tests without a kernel. */
export async function sysctlRoot(values: Record<string, string>, cleanup: string[]): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), "tt-root-"));
  cleanup.push(root);
  await mkdir(join(root, "net"), { recursive: true });
  await mkdir(join(root, "kernel/random"), { recursive: true });
  await writeFile(join(root, "kernel/random/boot_id"), "boot-test\n");
  for (const [name, value] of Object.entries(values)) {
    const path = join(root, ...name.split("."));
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, `${value}\n`);
  }
  return root;
}

export async function cleanupAll(dirs: string[]): Promise<void> {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
}

/** A backend that delivers what the test pushes and records statuses and Events. */
export interface PushBackend extends AgentBackend {
  readonly statuses: NodeStateStatus[];
  readonly events: AgentEvent[];
  push(desired: DesiredState): void;
}

export function pushBackend(opts: { keepsStatusWhenDeleted?: boolean } = {}): PushBackend {
  const statuses: NodeStateStatus[] = [];
  const events: AgentEvent[] = [];
  let deliver: ((d: DesiredState) => void) | undefined;
  return {
    statuses,
    events,
    ...(opts.keepsStatusWhenDeleted ? { keepsStatusWhenDeleted: true } : {}),
    push(d) {
      if (!deliver) throw new Error("backend not started");
      deliver(d);
    },
    async start(onDesired) {
      deliver = onDesired;
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

export function inProcessAgent(root: string, backend: AgentBackend, extra: { stateFile?: string; driftIntervalMs?: number } = {}): Agent {
  return new Agent({
    nodeName: "worker-1",
    fs: createSysctlFs(root),
    stateFile: extra.stateFile ?? join(root, "state", "agent-state.json"),
    procNet: join(root, "no-proc-net"),
    driftIntervalMs: extra.driftIntervalMs ?? 3_600_000,
    backend,
    log: createLogger("test", { level: "silent" }),
  });
}
