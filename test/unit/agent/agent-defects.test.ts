import { chmod, link, mkdir, readFile, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { NodeStateStatus } from "../../../src/api/v1alpha1/node-state.js";
import { cleanupAll, inProcessAgent, pushBackend, sysctlRoot } from "./support/sysctl-root.js";

/**
 * Defects found when the agent was tried as an attacker and as a new user would (issue 14): each
 * must now end in a status that says what is true, never in no status at all.
 */

const REUSE = "net.ipv4.tcp_tw_reuse";
const TIMESTAMPS = "net.ipv4.tcp_timestamps";
const dirs: string[] = [];
afterEach(() => cleanupAll(dirs));

const condition = (s: NodeStateStatus | undefined, type: string) => s?.conditions?.find((c) => c.type === type);

describe("a symlink under the sysctl root", () => {
  it("is refused for the key it replaces while the rest of the probe and the pass are reported normally", async () => {
    const root = await sysctlRoot({ [TIMESTAMPS]: "1", "net.core.somaxconn": "4096" }, dirs);
    const outside = join(root, "outside");
    await writeFile(outside, "0\n");
    await symlink(outside, join(root, "net/ipv4/tcp_tw_reuse"));
    const backend = pushBackend();
    const agent = inProcessAgent(root, backend);
    await agent.start();
    backend.push({ generation: 3, sysctls: [{ name: REUSE, value: "1" }], deleted: false });
    await agent.idle();
    await agent.stop();

    const status = backend.statuses.at(-1);
    expect(status?.observedGeneration).toBe(3);
    expect(status?.keys).toEqual([expect.objectContaining({ name: REUSE, result: "Refused", message: expect.stringMatching(/outside/) })]);
    expect(status?.probe?.keys.find((k) => k.name === REUSE)).toEqual({ name: REUSE, present: false });
    expect(status?.probe?.keys.find((k) => k.name === TIMESTAMPS)).toEqual({ name: TIMESTAMPS, present: true, value: "1" });
    expect(status?.probe?.keys.find((k) => k.name === "net.core.somaxconn")?.value).toBe("4096");
    expect(condition(status, "Applied")).toMatchObject({ status: "False", reason: "Refused" });
    expect(await readFile(outside, "utf8")).toBe("0\n");
    expect(backend.events.map((e) => e.reason)).toContain("SysctlRefused");
  });

  it("elsewhere in the tree does not keep another key from being applied", async () => {
    const root = await sysctlRoot({ [TIMESTAMPS]: "0" }, dirs);
    await symlink(join(root, "outside"), join(root, "net/ipv4/tcp_tw_reuse"));
    const backend = pushBackend();
    const agent = inProcessAgent(root, backend);
    await agent.start();
    backend.push({ generation: 1, sysctls: [{ name: TIMESTAMPS, value: "1" }], deleted: false });
    await agent.idle();
    await agent.stop();
    expect(condition(backend.statuses.at(-1), "Applied")).toMatchObject({ status: "True", reason: "AllKeysApplied" });
    expect(await readFile(join(root, "net/ipv4/tcp_timestamps"), "utf8")).toBe("1\n");
  });
});

describe("a state file the agent does not trust", () => {
  it.each([
    ["with two links", async (f: string) => link(f, `${f}.planted`), /2 hard links/],
    ["with mode 0644", async (f: string) => chmod(f, 0o644), /mode 0644/],
  ])("%s: nothing is written and status says why", async (_what, spoil, message) => {
    const root = await sysctlRoot({ [REUSE]: "2" }, dirs);
    const stateFile = join(root, "state", "agent-state.json");
    await mkdir(join(root, "state"), { mode: 0o700 });
    await writeFile(stateFile, `${JSON.stringify({ version: 1, bootId: "boot-test", originals: [] })}\n`, { mode: 0o600 });
    await spoil(stateFile);
    const backend = pushBackend();
    const agent = inProcessAgent(root, backend, { stateFile });
    await agent.start();
    backend.push({ generation: 1, sysctls: [{ name: REUSE, value: "1" }], deleted: false });
    await agent.idle();
    await agent.stop();

    expect(await readFile(join(root, "net/ipv4/tcp_tw_reuse"), "utf8")).toBe("2\n");
    const applied = condition(backend.statuses.at(-1), "Applied");
    expect(applied).toMatchObject({ status: "False", reason: "StateFileUnreadable" });
    expect(applied?.message).toMatch(message);
    expect(applied?.message).toMatch(/nothing was applied or restored/);
  });
});

describe("a rejected desired state", () => {
  it("is named in status while the previous generation stays in effect, and cleared by the next good one", async () => {
    const root = await sysctlRoot({ [REUSE]: "2" }, dirs);
    const backend = pushBackend();
    const agent = inProcessAgent(root, backend);
    await agent.start();
    backend.push({ generation: 1, sysctls: [{ name: REUSE, value: "1" }], deleted: false });
    await agent.idle();
    backend.push({ generation: undefined, sysctls: [], deleted: false, rejected: "desired.yaml: line 7: spec.sysctls[0].value: Too big" });
    await agent.idle();
    const rejected = backend.statuses.at(-1);
    expect(condition(rejected, "Applied")).toMatchObject({ status: "False", reason: "DesiredStateRejected", observedGeneration: 1 });
    expect(condition(rejected, "Applied")?.message).toMatch(
      /latest desired state was rejected.*previous desired state \(generation 1\) stays in effect.*line 7: spec\.sysctls\[0\]\.value: Too big/,
    );
    expect(condition(rejected, "Degraded")).toMatchObject({ status: "True", reason: "DesiredStateRejected" });
    expect(backend.events.at(-1)).toMatchObject({ type: "Warning", reason: "DesiredStateRejected" });
    expect(await readFile(join(root, "net/ipv4/tcp_tw_reuse"), "utf8")).toBe("1\n");

    backend.push({ generation: 1, sysctls: [{ name: REUSE, value: "1" }], deleted: false });
    await agent.idle();
    await agent.stop();
    expect(condition(backend.statuses.at(-1), "Applied")).toMatchObject({ status: "True", reason: "AllKeysApplied" });
    expect(condition(backend.statuses.at(-1), "Degraded")).toMatchObject({ status: "False" });
  });
});

describe("after the desired state is deleted", () => {
  it("status says nothing is desired and which originals were restored, not the old generation's count", async () => {
    const root = await sysctlRoot({ [REUSE]: "2", [TIMESTAMPS]: "0" }, dirs);
    const backend = pushBackend({ keepsStatusWhenDeleted: true });
    const agent = inProcessAgent(root, backend);
    await agent.start();
    backend.push({
      generation: 4,
      sysctls: [
        { name: REUSE, value: "1" },
        { name: TIMESTAMPS, value: "1" },
      ],
      deleted: false,
    });
    await agent.idle();
    expect(condition(backend.statuses.at(-1), "Applied")?.message).toMatch(/2 desired sysctl\(s\) in effect/);
    backend.push({ generation: undefined, sysctls: [], deleted: true });
    await agent.idle();
    await agent.stop();

    const status = backend.statuses.at(-1);
    const applied = condition(status, "Applied");
    expect(applied).toMatchObject({ status: "True", reason: "DesiredStateDeleted" });
    expect(applied?.message).toMatch(/nothing is desired on this node; original value\(s\) restored: net\.ipv4\.tcp_tw_reuse=2, net\.ipv4\.tcp_timestamps=0/);
    expect(applied?.message).not.toMatch(/in effect/);
    expect(status?.observedGeneration).toBeUndefined();
    expect(status?.originals).toEqual([]);
    expect(await readFile(join(root, "net/ipv4/tcp_tw_reuse"), "utf8")).toBe("2\n");
  });
});
