import { execFileSync } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { until } from "../../support/eventually.js";
import { freePorts } from "../../support/ports.js";
import { ProcessGroup } from "../../support/process-group.js";

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe("a process group of the test harness", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "tcp-tuning-pg-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("stop() ends the child and the grandchildren it started, even one that ignores SIGTERM", async () => {
    const pidFile = join(dir, "grandchild.pid");
    const group = new ProcessGroup({
      name: "shell",
      command: "bash",
      args: ["-c", `(trap '' TERM; sleep 300) & echo $! > ${pidFile}; echo started; wait`],
      logFile: join(dir, "shell.log"),
    });
    await until("the child to start", () => group.lastLines().includes("started"), 20_000, 20);
    const grandchild = Number((await readFile(pidFile, "utf8")).trim());
    expect(alive(grandchild)).toBe(true);
    await group.stop(500);
    await until("the grandchild to die", () => !alive(grandchild) || isZombie(grandchild), 20_000, 20);
    expect(group.exitDescription()).toMatch(/killed by SIGTERM|exited with code/);
  });

  it("keeps the last lines of output and says how the process ended", async () => {
    const group = new ProcessGroup({
      name: "failing",
      command: "bash",
      args: ["-c", "for i in $(seq 1 50); do echo line $i; done; echo oops >&2; exit 3"],
      logFile: join(dir, "failing.log"),
      tailLines: 5,
    });
    await until("the group to exit", () => group.exitDescription() !== undefined, 20_000, 20);
    await until("the last lines to hold oops", () => group.lastLines().includes("oops"), 20_000, 20);
    expect(group.exitDescription()).toBe("exited with code 3");
    expect(group.lastLines().split("\n")).toEqual(["line 47", "line 48", "line 49", "line 50", "oops"]);
    const err = group.failure("not ready");
    expect(err.message).toContain("failing: not ready (exited with code 3)");
    expect(err.message).toContain("oops");
    expect(await readFile(join(dir, "failing.log"), "utf8")).toContain("line 1\n");
    await group.stop();
  });

  it("reports a command that cannot be started instead of hanging", async () => {
    const group = new ProcessGroup({ name: "missing", command: join(dir, "no-such-binary"), args: [], logFile: join(dir, "missing.log") });
    await until("the group to exit", () => group.exitDescription() !== undefined, 20_000, 20);
    expect(group.failure("not started").message).toContain("missing: not started");
    await group.stop();
  });
});

describe("free loopback ports", () => {
  it("are distinct within one call", async () => {
    const ports = await freePorts(20);
    expect(new Set(ports).size).toBe(20);
    for (const p of ports) expect(p).toBeGreaterThan(0);
  });
});

function isZombie(pid: number): boolean {
  try {
    return execFileSync("ps", ["-o", "stat=", "-p", String(pid)], { encoding: "utf8" })
      .trim()
      .startsWith("Z");
  } catch {
    return false;
  }
}
