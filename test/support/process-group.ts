import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createWriteStream, type WriteStream } from "node:fs";

/** setpriv (util-linux) makes the kernel kill a child when this process dies, even by SIGKILL. */
const SETPRIV = (() => {
  const probe = spawnSync("setpriv", ["--help"], { stdio: "ignore" });
  return probe.error === undefined && probe.status === 0 ? "setpriv" : undefined;
})();

const live = new Set<ProcessGroup>();
process.once("exit", () => {
  for (const group of live) group.killNow();
});

export interface ProcessGroupOptions {
  /** A short name for messages, e.g. "kube-apiserver". */
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  /** Where stdout and stderr are written, whole. */
  readonly logFile: string;
  readonly env?: NodeJS.ProcessEnv;
  /** How many of the last output lines to keep for error messages. */
  readonly tailLines?: number;
}

/**
 * A child started in a process group of its own, so stop() ends it and everything it started.
 * Output goes to a log file; the last lines are kept for error messages.
 */
export class ProcessGroup {
  readonly name: string;
  readonly logFile: string;
  /** What it was started with (a restart starts the same again). */
  readonly options: ProcessGroupOptions;
  private readonly child: ChildProcess;
  private readonly log: WriteStream;
  private readonly tail: string[] = [];
  private readonly tailLines: number;
  private partial = "";
  private exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private readonly exited: Promise<void>;

  constructor(options: ProcessGroupOptions) {
    this.name = options.name;
    this.logFile = options.logFile;
    this.options = options;
    this.tailLines = options.tailLines ?? 40;
    this.log = createWriteStream(options.logFile, { flags: "a" });
    const [command, args] = SETPRIV ? [SETPRIV, ["--pdeathsig", "KILL", "--", options.command, ...options.args]] : [options.command, [...options.args]];
    this.child = spawn(command, args, {
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
      env: options.env ?? process.env,
    });
    this.exited = new Promise((resolve) => {
      this.child.once("exit", (code, signal) => {
        this.exitInfo = { code, signal };
        live.delete(this);
        resolve();
      });
      this.child.once("error", (err) => {
        this.remember(`spawn ${options.command} failed: ${err.message}\n`);
        this.exitInfo = { code: null, signal: null };
        live.delete(this);
        resolve();
      });
    });
    for (const stream of [this.child.stdout, this.child.stderr]) {
      stream?.on("data", (chunk: Buffer) => {
        this.log.write(chunk);
        this.remember(chunk.toString("utf8"));
      });
    }
    live.add(this);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Undefined while running; otherwise how it ended, in words. */
  exitDescription(): string | undefined {
    if (!this.exitInfo) return undefined;
    const { code, signal } = this.exitInfo;
    return signal ? `killed by ${signal}` : `exited with code ${code ?? "unknown"}`;
  }

  /** The last output lines, joined. */
  lastLines(count = this.tailLines): string {
    const lines = this.partial ? [...this.tail, this.partial] : this.tail;
    return lines.slice(-count).join("\n");
  }

  /** An Error that says which process, how it ended and what it said last. */
  failure(message: string): Error {
    const ended = this.exitDescription();
    return new Error(`${this.name}: ${message}${ended ? ` (${ended})` : ""}; log ${this.logFile}, last lines:\n${this.lastLines()}`);
  }

  /** SIGTERM to the whole group, SIGKILL after graceMs; resolves when the leader has exited. */
  async stop(graceMs = 10_000): Promise<void> {
    if (!this.exitInfo) {
      this.signal("SIGTERM");
      const timer = setTimeout(() => this.signal("SIGKILL"), graceMs);
      await this.exited;
      clearTimeout(timer);
    }
    // Anything the leader left behind in its group goes too.
    this.signal("SIGKILL");
    await new Promise<void>((resolve) => this.log.end(() => resolve()));
  }

  /** Synchronous last resort for process exit. */
  killNow(): void {
    this.signal("SIGKILL");
  }

  private signal(signal: NodeJS.Signals): void {
    const pid = this.child.pid;
    if (pid === undefined) return;
    try {
      process.kill(-pid, signal);
    } catch {
      // The group is already gone.
    }
  }

  private remember(text: string): void {
    const lines = (this.partial + text).split("\n");
    this.partial = lines.pop() ?? "";
    this.tail.push(...lines);
    if (this.tail.length > this.tailLines) this.tail.splice(0, this.tail.length - this.tailLines);
  }
}
