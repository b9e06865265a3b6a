import { execFile, execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { promisify } from "node:util";

const run = promisify(execFile);

/**
 * Real network namespaces for the agent tests (needs root and iproute2). Every namespace made here
 * is remembered and removed by destroyAllNamespaces(), which the tests call in afterAll and which
 * also runs at process exit, so a failing test never leaves one behind.
 */

const created = new Set<string>();

export async function createNamespace(): Promise<string> {
  const name = `tt-${randomBytes(4).toString("hex")}`;
  await run("ip", ["netns", "add", name]);
  created.add(name);
  await nsExec(name, ["ip", "link", "set", "lo", "up"]);
  return name;
}

export async function destroyNamespace(name: string): Promise<void> {
  created.delete(name);
  await run("ip", ["netns", "del", name]).catch(() => undefined);
}

export async function destroyAllNamespaces(): Promise<void> {
  for (const name of [...created]) await destroyNamespace(name);
}

process.once("exit", () => {
  for (const name of created) {
    try {
      execFileSync("ip", ["netns", "del", name], { stdio: "ignore" });
    } catch {
      // already gone
    }
  }
});

export async function nsExec(ns: string, argv: readonly string[]): Promise<string> {
  const [cmd, ...args] = argv;
  const { stdout } = await run("ip", ["netns", "exec", ns, cmd ?? "true", ...args]);
  return stdout;
}

/** `sysctl -n NAME` inside the namespace, whitespace-normalised. */
export async function nsSysctl(ns: string, name: string): Promise<string> {
  return (await nsExec(ns, ["sysctl", "-n", name])).trim().split(/\s+/).join(" ");
}

/** `sysctl -w NAME=VALUE` inside the namespace: a change the agent did not make. */
export async function nsSysctlWrite(ns: string, name: string, value: string): Promise<void> {
  await nsExec(ns, ["sysctl", "-q", "-w", `${name}=${value}`]);
}

export async function nsExists(ns: string): Promise<boolean> {
  const { stdout } = await run("ip", ["netns", "list"]);
  return stdout.split("\n").some((l) => l.split(" ")[0] === ns);
}
