import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { REPO_ROOT } from "./control-plane.js";
import { ProcessGroup } from "./process-group.js";

export interface ControllerLogLine {
  readonly level: string | number;
  readonly msg: string;
  readonly [k: string]: unknown;
}

/**
 * The real `tcp-tuning controller` command (bin/tcp-tuning.js) as a child process with JSON logs in
 * a file, for tests that kill it, count its passes or watch it take over a Lease.
 */
export class ControllerProcess {
  private constructor(
    readonly name: string,
    readonly group: ProcessGroup,
  ) {}

  static start(name: string, dir: string, args: readonly string[]): ControllerProcess {
    const group = new ProcessGroup({
      name,
      command: process.execPath,
      args: [join(REPO_ROOT, "bin", "tcp-tuning.js"), "controller", "--identity", name, ...args],
      logFile: join(dir, `${name}.log`),
      env: { ...process.env, LOG_FORMAT: "json" },
    });
    return new ControllerProcess(name, group);
  }

  async logs(): Promise<ControllerLogLine[]> {
    let text: string;
    try {
      text = await readFile(this.group.logFile, "utf8");
    } catch {
      return [];
    }
    const out: ControllerLogLine[] = [];
    for (const line of text.split("\n")) {
      if (!line.startsWith("{")) continue;
      try {
        out.push(JSON.parse(line) as ControllerLogLine);
      } catch {
        // a line cut by a kill
      }
    }
    return out;
  }

  async count(msg: string): Promise<number> {
    return (await this.logs()).filter((l) => l.msg === msg).length;
  }

  get exited(): string | undefined {
    return this.group.exitDescription();
  }

  /** SIGKILL: no release of the Lease, no clean-up. */
  kill(): void {
    this.group.killNow();
  }

  async stop(): Promise<void> {
    await this.group.stop();
  }
}
