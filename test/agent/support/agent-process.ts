import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, readFile, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { stringify } from "yaml";
import type { DesiredSysctl, NodeStateStatus } from "../../../src/api/v1alpha1/node-state.js";
import { eventually } from "../../support/eventually.js";

export { eventually };

/**
 * The real agent process (src/cmd/agent.ts via tsx, one node process, no wrapper) started inside a
 * network namespace with `ip netns exec`. Its JSON log lines are collected so tests can wait for
 * what it says it did.
 */

export const REPO = resolve(import.meta.dirname, "../../..");
const BIN = join(REPO, "src/cmd/agent.ts");
const CLI = join(REPO, "bin/tcp-tuning.js");

export interface LogLine {
  /** pino's level label: "info", "warn", "error", ... */
  readonly level: string;
  readonly msg: string;
  readonly [k: string]: unknown;
}

export interface AgentFiles {
  readonly dir: string;
  readonly desired: string;
  readonly state: string;
  readonly status: string;
  readonly events: string;
}

export async function agentFiles(): Promise<AgentFiles> {
  const dir = await mkdtemp(join(tmpdir(), "tt-agent-"));
  return { dir, desired: join(dir, "desired.yaml"), state: join(dir, "state.json"), status: join(dir, "status.json"), events: join(dir, "events.jsonl") };
}

export async function removeAgentFiles(files: AgentFiles): Promise<void> {
  await rm(files.dir, { recursive: true, force: true });
}

/** Writes the per-node desired state as the controller would put it in spec (bypassing the API). */
export async function writeDesired(files: AgentFiles, nodeName: string, generation: number, sysctls: readonly Omit<DesiredSysctl, "policy">[]): Promise<void> {
  const doc = {
    apiVersion: "tcptuning.io/v1alpha1",
    kind: "TcpTuningNodeState",
    metadata: { name: nodeName, generation },
    spec: { nodeName, sysctls: sysctls.map((s) => ({ policy: "test", ...s })) },
  };
  await writeFile(`${files.desired}.tmp`, stringify(doc));
  await rename(`${files.desired}.tmp`, files.desired);
}

export async function readStatus(files: AgentFiles): Promise<NodeStateStatus | undefined> {
  try {
    return (JSON.parse(await readFile(files.status, "utf8")) as { status: NodeStateStatus }).status;
  } catch {
    return undefined;
  }
}

/**
 * The Events file once `ready` holds for it (the agent appends Events just after it writes status, so
 * a test that has seen the status may read the file a moment early); after the timeout, whatever is
 * there, so the test's own expectation fails with the real content.
 */
export async function readEventsWhen(
  files: AgentFiles,
  ready: (events: { type: string; reason: string; message: string }[]) => boolean,
  timeoutMs = 10_000,
): Promise<{ type: string; reason: string; message: string }[]> {
  try {
    return await eventually(
      "events",
      async () => {
        const events = await readEvents(files);
        return ready(events) ? events : undefined;
      },
      timeoutMs,
    );
  } catch {
    return readEvents(files);
  }
}

export async function readEvents(files: AgentFiles): Promise<{ type: string; reason: string; message: string }[]> {
  try {
    return (await readFile(files.events, "utf8"))
      .split("\n")
      .filter((l) => l !== "")
      .map((l) => JSON.parse(l) as { type: string; reason: string; message: string });
  } catch {
    return [];
  }
}

export interface StartOptions {
  readonly ns: string;
  readonly args: readonly string[];
  readonly env?: Record<string, string>;
  /** Run under `strace -ff -e trace=openat,open -o FILE`. */
  readonly straceOutput?: string;
  /** "bin": src/cmd/agent.ts run directly (default); "cli": the `tcp-tuning agent` command (bin/tcp-tuning.js). */
  readonly entry?: "bin" | "cli";
}

export class AgentProcess {
  readonly logs: LogLine[] = [];
  readonly stderr: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private waiters: (() => void)[] = [];

  private constructor(readonly child: ChildProcess) {
    let buf = "";
    child.stderr?.setEncoding("utf8");
    child.stderr?.on("data", (chunk: string) => {
      buf += chunk;
      let i: number;
      while ((i = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        this.stderr.push(line);
        try {
          this.logs.push(JSON.parse(line) as LogLine);
        } catch {
          // not a log line (strace, node warnings)
        }
        for (const w of this.waiters.splice(0)) w();
      }
    });
    child.stdout?.resume();
    this.exited = new Promise((resolveExit) => child.once("exit", (code, signal) => resolveExit({ code, signal })));
  }

  static start(opts: StartOptions): AgentProcess {
    const node = opts.entry === "cli" ? [process.execPath, CLI, "agent", ...opts.args] : [process.execPath, "--import", "tsx", BIN, ...opts.args];
    const argv = opts.straceOutput ? ["strace", "-ff", "-qq", "-e", "trace=openat,open,openat2,creat", "-o", opts.straceOutput, ...node] : node;
    const child = spawn("ip", ["netns", "exec", opts.ns, ...argv], {
      cwd: REPO,
      env: { ...process.env, LOG_FORMAT: "json", LOG_LEVEL: "debug", ...opts.env },
      stdio: ["ignore", "pipe", "pipe"],
      // Its own process group, so stop() reaches the agent even under strace: a SIGKILLed strace
      // detaches from its tracee and would leave the agent running after a failed test.
      detached: true,
    });
    return new AgentProcess(child);
  }

  get pid(): number {
    if (this.child.pid === undefined) throw new Error("agent process has no pid");
    return this.child.pid;
  }

  /** Waits until a log line matches, or fails with the log so far. */
  async waitForLog(pred: (l: LogLine) => boolean, timeoutMs = 30_000): Promise<LogLine> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.logs.find(pred);
      if (hit) return hit;
      if (this.child.exitCode !== null || this.child.signalCode !== null)
        throw new Error(`agent exited before the expected log line:\n${this.stderr.join("\n")}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for a log line; agent said:\n${this.stderr.slice(-40).join("\n")}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.min(left, 200));
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  async stop(signal: NodeJS.Signals = "SIGTERM"): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      try {
        process.kill(-this.pid, signal); // the whole group: strace and the agent it traces
      } catch {
        this.child.kill(signal);
      }
    }
    return this.exited;
  }
}
