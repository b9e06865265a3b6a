import { readFile, rm, writeFile } from "node:fs/promises";
import { release } from "node:os";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import type { NodeStateStatus } from "../../src/api/v1alpha1/node-state.js";
import { PAUSE_AFTER_WRITES_ENV } from "../../src/agent/cli.js";
import { AgentProcess, agentFiles, eventually, readEventsWhen, readStatus, removeAgentFiles, writeDesired, type AgentFiles } from "./support/agent-process.js";
import { expectHostSysctlsUntouched } from "./support/host-guard.js";
import { createNamespace, destroyAllNamespaces, destroyNamespace, nsSysctl, nsSysctlWrite } from "./support/netns.js";

/**
 * The agent PROCESS, run with `ip netns exec` inside a fresh network namespace, so its writes land in
 * that namespace's own /proc/sys/net. Desired state comes from a file here (the same document the
 * API server would hold); the API-server path is covered in agent-apiserver.test.ts.
 */

const NODE = "node-a";
const REUSE = "net.ipv4.tcp_tw_reuse";
const RANGE = "net.ipv4.ip_local_port_range";
const FIN = "net.ipv4.tcp_fin_timeout";
const START = "net.ipv4.ip_unprivileged_port_start";

interface Rig {
  ns: string;
  files: AgentFiles;
  agents: AgentProcess[];
}
const rigs: Rig[] = [];

async function rig(): Promise<Rig> {
  const r: Rig = { ns: await createNamespace(), files: await agentFiles(), agents: [] };
  rigs.push(r);
  return r;
}

function startAgent(r: Rig, extra: { args?: string[]; env?: Record<string, string>; straceOutput?: string } = {}): AgentProcess {
  const a = AgentProcess.start({
    ns: r.ns,
    args: [
      "--node-name",
      NODE,
      "--state-file",
      r.files.state,
      "--desired-file",
      r.files.desired,
      "--status-file",
      r.files.status,
      "--events-file",
      r.files.events,
      "--poll-interval",
      "100ms",
      "--drift-interval",
      "60s",
      ...(extra.args ?? []),
    ],
    ...(extra.env ? { env: extra.env } : {}),
    ...(extra.straceOutput ? { straceOutput: extra.straceOutput } : {}),
  });
  r.agents.push(a);
  return a;
}

async function statusAt(r: Rig, generation: number, pred: (s: NodeStateStatus) => boolean = () => true): Promise<NodeStateStatus> {
  return eventually(`status at generation ${generation}`, async () => {
    const s = await readStatus(r.files);
    return s && s.observedGeneration === generation && pred(s) ? s : undefined;
  });
}

async function stateOriginals(r: Rig): Promise<Record<string, string>> {
  const state = JSON.parse(await readFile(r.files.state, "utf8")) as { originals: { name: string; value: string }[] };
  return Object.fromEntries(state.originals.map((o) => [o.name, o.value]));
}

function results(s: NodeStateStatus): Record<string, string> {
  return Object.fromEntries((s.keys ?? []).map((k) => [k.name, k.result]));
}

function condition(s: NodeStateStatus, type: string): string | undefined {
  return s.conditions?.find((c) => c.type === type)?.status;
}

/** Waits until the agent has logged two more failed passes (its periodic retries) than now. */
async function twoMoreFailedPasses(r: Rig): Promise<void> {
  const agent = r.agents[r.agents.length - 1];
  if (!agent) throw new Error("no agent");
  const failedPasses = (): number => agent.logs.filter((l) => l.msg === "agent pass failed").length;
  const target = failedPasses() + 2;
  await agent.waitForLog(() => failedPasses() >= target);
}

afterEach(async () => {
  for (const r of rigs.splice(0)) {
    for (const a of r.agents) await a.stop("SIGKILL");
    await destroyNamespace(r.ns);
    await removeAgentFiles(r.files);
  }
});
afterAll(destroyAllNamespaces);

describe("the node agent in a network namespace", () => {
  it("applies the desired keys into the namespace's own /proc/sys/net, reads them back and reports the probe", async () => {
    const r = await rig();
    const defaults = { [REUSE]: await nsSysctl(r.ns, REUSE), [RANGE]: await nsSysctl(r.ns, RANGE), [FIN]: await nsSysctl(r.ns, FIN) };
    await writeDesired(r.files, NODE, 1, [
      { name: REUSE, value: "1" },
      { name: RANGE, value: "40000 40007" },
      { name: FIN, value: "30" },
    ]);
    startAgent(r);
    const s = await statusAt(r, 1);

    expect(results(s)).toEqual({ [REUSE]: "Applied", [RANGE]: "Applied", [FIN]: "Applied" });
    expect(s.keys?.find((k) => k.name === RANGE)?.actual).toBe("40000 40007");
    expect(condition(s, "Applied")).toBe("True");
    expect(condition(s, "Degraded")).toBe("False");
    expect({ reuse: await nsSysctl(r.ns, REUSE), range: await nsSysctl(r.ns, RANGE), fin: await nsSysctl(r.ns, FIN) }).toEqual({
      reuse: "1",
      range: "40000 40007",
      fin: "30",
    });
    expect(await stateOriginals(r)).toEqual(defaults);
    expect(Object.fromEntries((s.originals ?? []).map((o) => [o.name, o.value]))).toEqual(defaults);

    expect(s.probe?.kernelRelease).toBe(release());
    const probed = new Map((s.probe?.keys ?? []).map((k) => [k.name, k]));
    expect(probed.get(REUSE)).toEqual({ name: REUSE, present: true, value: "1" });
    expect(probed.get("net.core.somaxconn")).toEqual({ name: "net.core.somaxconn", present: true, value: await nsSysctl(r.ns, "net.core.somaxconn") });
    expect(probed.get("net.ipv4.tcp_tw_recycle")?.present).toBe(false);
    expect(s.counters?.timeWait).toMatch(/^\d+$/);
    expect(s.counters?.twRecycled).toMatch(/^\d+$/);
    expect((await readEventsWhen(r.files, (ev) => ev.some((e) => e.reason === "Applied"))).map((e) => e.reason)).toContain("Applied");
  });

  it("restores a key's original once it is no longer desired, and forgets the original only then", async () => {
    const r = await rig();
    await writeDesired(r.files, NODE, 1, [
      { name: REUSE, value: "1" },
      { name: RANGE, value: "40000 40007" },
    ]);
    startAgent(r);
    await statusAt(r, 1);

    await writeDesired(r.files, NODE, 2, [{ name: REUSE, value: "1" }]);
    const s2 = await statusAt(r, 2);
    expect(results(s2)).toEqual({ [REUSE]: "Applied", [RANGE]: "Restored" });
    expect(await nsSysctl(r.ns, RANGE)).toBe("32768 60999");
    expect(await stateOriginals(r)).toEqual({ [REUSE]: "2" });

    await writeDesired(r.files, NODE, 3, []);
    const s3 = await statusAt(r, 3);
    expect(results(s3)).toEqual({ [REUSE]: "Restored" });
    expect(await nsSysctl(r.ns, REUSE)).toBe("2");
    expect(await stateOriginals(r)).toEqual({});
    expect(condition(s3, "Applied")).toBe("True");
  });

  it("applies a generation all-or-nothing: a value the kernel rejects rolls back the keys changed before it", async () => {
    const r = await rig();
    // The catalog's grammar allows 500..65535, but the kernel refuses a low port below
    // ip_unprivileged_port_start (1024): the failure happens at the write, after tcp_tw_reuse changed.
    // The refused write is tried again after tcp_fin_timeout (the kernel might only refuse the order),
    // and still refused, so both written keys are put back.
    await writeDesired(r.files, NODE, 1, [
      { name: REUSE, value: "1" },
      { name: RANGE, value: "500 65535" },
      { name: FIN, value: "30" },
    ]);
    startAgent(r);
    const s = await statusAt(r, 1);
    expect(results(s)).toEqual({ [REUSE]: "RolledBack", [RANGE]: "Failed", [FIN]: "RolledBack" });
    expect({ reuse: await nsSysctl(r.ns, REUSE), range: await nsSysctl(r.ns, RANGE), fin: await nsSysctl(r.ns, FIN) }).toEqual({
      reuse: "2",
      range: "32768 60999",
      fin: "60",
    });
    expect(condition(s, "Applied")).toBe("False");
    expect(condition(s, "Degraded")).toBe("True");
    expect(
      (await readEventsWhen(r.files, (ev) => ev.some((e) => e.reason === "ApplyFailed"))).filter((e) => e.type === "Warning").map((e) => e.reason),
    ).toContain("ApplyFailed");
  });

  it("survives kill -9 in the middle of a generation: after a restart the originals are intact and the desired state is reached", async () => {
    const r = await rig();
    const defaults = { [REUSE]: "2", [RANGE]: "32768 60999", [FIN]: "60" };
    expect({ [REUSE]: await nsSysctl(r.ns, REUSE), [RANGE]: await nsSysctl(r.ns, RANGE), [FIN]: await nsSysctl(r.ns, FIN) }).toEqual(defaults);
    await writeDesired(r.files, NODE, 1, [
      { name: REUSE, value: "1" },
      { name: RANGE, value: "40000 40007" },
      { name: FIN, value: "30" },
    ]);
    const first = startAgent(r, { env: { [PAUSE_AFTER_WRITES_ENV]: "1" } });
    await first.waitForLog((l) => l.msg === "test hook: paused after a sysctl write");

    // Mid-generation: one key written, two not yet; every original already on disk.
    expect({ reuse: await nsSysctl(r.ns, REUSE), range: await nsSysctl(r.ns, RANGE), fin: await nsSysctl(r.ns, FIN) }).toEqual({
      reuse: "1",
      range: "32768 60999",
      fin: "60",
    });
    expect(await stateOriginals(r)).toEqual(defaults);

    await first.stop("SIGKILL");
    expect((await first.exited).signal).toBe("SIGKILL");

    startAgent(r);
    const s = await statusAt(r, 1, (st) => condition(st, "Applied") === "True");
    expect({ reuse: await nsSysctl(r.ns, REUSE), range: await nsSysctl(r.ns, RANGE), fin: await nsSysctl(r.ns, FIN) }).toEqual({
      reuse: "1",
      range: "40000 40007",
      fin: "30",
    });
    // tcp_tw_reuse read "1" at the restart, but its recorded original is still the real one.
    expect(await stateOriginals(r)).toEqual(defaults);
    expect(Object.fromEntries((s.originals ?? []).map((o) => [o.name, o.value]))).toEqual(defaults);

    await writeDesired(r.files, NODE, 2, []);
    await statusAt(r, 2);
    expect({ [REUSE]: await nsSysctl(r.ns, REUSE), [RANGE]: await nsSysctl(r.ns, RANGE), [FIN]: await nsSysctl(r.ns, FIN) }).toEqual(defaults);
  });

  it("corrects drift made with sysctl -w inside the namespace and reports it (count, condition, Event)", async () => {
    const r = await rig();
    await writeDesired(r.files, NODE, 1, [
      { name: REUSE, value: "1" },
      { name: RANGE, value: "40000 40007" },
    ]);
    startAgent(r, { args: ["--drift-interval", "300ms"] });
    await statusAt(r, 1);

    await nsSysctlWrite(r.ns, REUSE, "0");
    const s = await statusAt(r, 1, (st) => (st.drift?.count ?? 0) >= 1);
    expect(s.drift?.lastKeys).toEqual([REUSE]);
    expect(s.conditions?.find((c) => c.type === "Drifted")).toMatchObject({ status: "True", reason: "DriftCorrected" });
    expect(await nsSysctl(r.ns, REUSE)).toBe("1");
    const drift = (await readEventsWhen(r.files, (ev) => ev.some((e) => e.reason === "DriftCorrected"))).filter((e) => e.reason === "DriftCorrected");
    expect(drift).toHaveLength(1);
    expect(drift[0]).toMatchObject({ type: "Warning" });
    expect(drift[0]?.message).toContain(`${REUSE} (drift: found 0, re-applied)`);
    // The originals are still the values found before the agent's first change, not the drifted value.
    expect(await stateOriginals(r)).toEqual({ [REUSE]: "2", [RANGE]: "32768 60999" });
  });

  it("corrects drift of ip_unprivileged_port_start and ip_local_port_range in the order the kernel accepts", async () => {
    const r = await rig();
    await writeDesired(r.files, NODE, 1, [
      { name: START, value: "40000" },
      { name: RANGE, value: "41000 60999" },
    ]);
    const a = startAgent(r, { args: ["--drift-interval", "300ms"] });
    await statusAt(r, 1, (st) => condition(st, "Applied") === "True");

    // `sysctl -p` with the defaults while the agent is stopped (SIGSTOP), so it sees both changes at once.
    process.kill(a.pid, "SIGSTOP");
    try {
      await nsSysctlWrite(r.ns, START, "1024");
      await nsSysctlWrite(r.ns, RANGE, "32768 60999");
    } finally {
      process.kill(a.pid, "SIGCONT");
    }
    const s = await statusAt(r, 1, (st) => (st.drift?.count ?? 0) >= 2);
    expect(results(s)).toEqual({ [START]: "Applied", [RANGE]: "Applied" });
    expect(condition(s, "Applied")).toBe("True");
    expect({ start: await nsSysctl(r.ns, START), range: await nsSysctl(r.ns, RANGE) }).toEqual({ start: "40000", range: "41000 60999" });
    const drift = (await readEventsWhen(r.files, (ev) => ev.some((e) => e.reason === "DriftCorrected"))).filter((e) => e.reason === "DriftCorrected");
    expect(drift.map((e) => e.message).join("\n")).not.toContain("re-apply failed");
  });

  it("stops on SIGTERM without restoring anything (an agent upgrade leaves the node's values in place)", async () => {
    const r = await rig();
    await writeDesired(r.files, NODE, 1, [{ name: REUSE, value: "1" }]);
    const a = startAgent(r);
    await statusAt(r, 1);
    const exit = await a.stop("SIGTERM");
    expect(exit.code).toBe(0);
    expect(a.logs.map((l) => l.msg)).toContain("agent stopped; sysctls left as they are");
    expect(await nsSysctl(r.ns, REUSE)).toBe("1");
    expect(await stateOriginals(r)).toEqual({ [REUSE]: "2" });
  });

  it("restores every original when the node state is deleted", async () => {
    const r = await rig();
    await writeDesired(r.files, NODE, 1, [{ name: REUSE, value: "1" }]);
    const a = startAgent(r);
    await statusAt(r, 1);
    await rm(r.files.desired);
    await a.waitForLog((l) => l.msg === "restored original value" && l["sysctl"] === REUSE);
    expect(await nsSysctl(r.ns, REUSE)).toBe("2");
    expect(await stateOriginals(r)).toEqual({});
  });

  it.each([
    ["tcp_tw_recycle=0 on a kernel without the key is skipped (the kernel already behaves so)", "0", "Skipped", "True"],
    ["tcp_tw_recycle=1 on a kernel without the key fails (nothing is ever created)", "1", "Failed", "False"],
  ])("%s", async (_title, value, result, applied) => {
    const r = await rig();
    await writeDesired(r.files, NODE, 1, [{ name: "net.ipv4.tcp_tw_recycle", value }]);
    startAgent(r);
    const s = await statusAt(r, 1);
    expect(results(s)).toEqual({ "net.ipv4.tcp_tw_recycle": result });
    expect(condition(s, "Applied")).toBe(applied);
  });

  it("writes and restores ip_unprivileged_port_start and ip_local_port_range in the order the kernel accepts, whatever the listed order", async () => {
    // The kernel refuses a range whose low port is below ip_unprivileged_port_start, and a start at or
    // above the range's low port: raising both needs the range first, lowering both the start first.
    const r = await rig();
    const ports = async (): Promise<{ start: string; range: string }> => ({ start: await nsSysctl(r.ns, START), range: await nsSysctl(r.ns, RANGE) });
    expect(await ports()).toEqual({ start: "1024", range: "32768 60999" });
    startAgent(r);

    // Raise both, the start listed first.
    await writeDesired(r.files, NODE, 1, [
      { name: START, value: "40000" },
      { name: RANGE, value: "41000 60999" },
    ]);
    expect(results(await statusAt(r, 1))).toEqual({ [START]: "Applied", [RANGE]: "Applied" });
    expect(await ports()).toEqual({ start: "40000", range: "41000 60999" });

    // Lower the start and let the range go: its original (32768) is below the old start, so it can
    // only be restored after the start was lowered by this same pass.
    await writeDesired(r.files, NODE, 2, [{ name: START, value: "500" }]);
    expect(results(await statusAt(r, 2))).toEqual({ [START]: "Applied", [RANGE]: "Restored" });
    expect(await ports()).toEqual({ start: "500", range: "32768 60999" });

    // Lower both, the range listed first.
    await writeDesired(r.files, NODE, 3, [
      { name: RANGE, value: "450 60999" },
      { name: START, value: "400" },
    ]);
    expect(results(await statusAt(r, 3))).toEqual({ [START]: "Applied", [RANGE]: "Applied" });
    expect(await ports()).toEqual({ start: "400", range: "450 60999" });
    expect(await stateOriginals(r)).toEqual({ [START]: "1024", [RANGE]: "32768 60999" });

    // Restore both: the start's original (1024) is above the current low port (450), so the range goes first.
    await writeDesired(r.files, NODE, 4, []);
    const s4 = await statusAt(r, 4);
    expect(results(s4)).toEqual({ [START]: "Restored", [RANGE]: "Restored" });
    expect(condition(s4, "Degraded")).toBe("False");
    expect(await ports()).toEqual({ start: "1024", range: "32768 60999" });
    expect(await stateOriginals(r)).toEqual({});
  });

  it("still reports status when a probed value is longer than the API allows (a long ip_local_reserved_ports), naming the key without its value", async () => {
    const r = await rig();
    const reserved = Array.from({ length: 100 }, (_, i) => 40000 + 2 * i).join(",");
    await nsSysctlWrite(r.ns, "net.ipv4.ip_local_reserved_ports", reserved);
    expect((await nsSysctl(r.ns, "net.ipv4.ip_local_reserved_ports")).length).toBeGreaterThan(256);
    await writeDesired(r.files, NODE, 1, [{ name: FIN, value: "30" }]);
    startAgent(r);
    const s = await statusAt(r, 1);
    expect(results(s)).toEqual({ [FIN]: "Applied" });
    expect(s.probe?.keys.find((k) => k.name === "net.ipv4.ip_local_reserved_ports")).toEqual({ name: "net.ipv4.ip_local_reserved_ports", present: true });
    expect(s.probe?.keys.find((k) => k.name === FIN)).toEqual({ name: FIN, present: true, value: "30" });
  });

  it("does not change a key whose current value is too long to be recorded as its original, and says so", async () => {
    const r = await rig();
    const RESERVED = "net.ipv4.ip_local_reserved_ports";
    const reserved = Array.from({ length: 100 }, (_, i) => 40000 + 2 * i).join(",");
    await nsSysctlWrite(r.ns, RESERVED, reserved);
    const before = await nsSysctl(r.ns, RESERVED);
    await writeDesired(r.files, NODE, 1, [
      { name: RESERVED, value: "8080" },
      { name: FIN, value: "30" },
    ]);
    startAgent(r);
    const s = await statusAt(r, 1);
    expect(results(s)).toEqual({ [RESERVED]: "Failed", [FIN]: "Pending" });
    expect(s.keys?.find((k) => k.name === RESERVED)?.message).toMatch(/more than the 256 that can be recorded as its original/);
    expect({ reserved: await nsSysctl(r.ns, RESERVED), fin: await nsSysctl(r.ns, FIN) }).toEqual({ reserved: before, fin: "60" });
  });

  it("refuses a name listed twice (with different values) and applies nothing of that generation", async () => {
    const r = await rig();
    await writeDesired(r.files, NODE, 1, [
      { name: REUSE, value: "1" },
      { name: REUSE, value: "0" },
      { name: FIN, value: "30" },
    ]);
    startAgent(r);
    const s = await statusAt(r, 1);
    expect(results(s)).toEqual({ [REUSE]: "Refused", [FIN]: "Pending" });
    expect({ reuse: await nsSysctl(r.ns, REUSE), fin: await nsSysctl(r.ns, FIN) }).toEqual({ reuse: "2", fin: "60" });
  });

  it("keeps an original the kernel will not take back, reports RestoreFailed, and retries until it can", async () => {
    const r = await rig();
    // Recorded when ip_unprivileged_port_start was 500; the namespace now has the default 1024,
    // below which the kernel refuses a port range.
    await writeFile(r.files.state, JSON.stringify({ version: 1, originals: [{ name: RANGE, value: "500 65535", recordedAt: "2026-01-01T00:00:00Z" }] }), {
      mode: 0o600,
    });
    await writeDesired(r.files, NODE, 1, []);
    startAgent(r, { args: ["--drift-interval", "300ms"] });
    const s = await statusAt(r, 1);
    expect(results(s)).toEqual({ [RANGE]: "RestoreFailed" });
    expect(s.conditions?.find((c) => c.type === "Degraded")).toMatchObject({ status: "True", reason: "RestoreFailed" });
    expect(await stateOriginals(r)).toEqual({ [RANGE]: "500 65535" });
    expect((await readEventsWhen(r.files, (ev) => ev.some((e) => e.reason === "RestoreFailed"))).map((e) => e.reason)).toContain("RestoreFailed");

    await nsSysctlWrite(r.ns, "net.ipv4.ip_unprivileged_port_start", "500");
    const later = await statusAt(r, 1, (st) => results(st)[RANGE] === "Restored");
    expect(condition(later, "Degraded")).toBe("False");
    expect(await nsSysctl(r.ns, RANGE)).toBe("500 65535");
    expect(await stateOriginals(r)).toEqual({});
  });

  it("takes the originals back from its own last status when the state file is lost, instead of recording the values it set", async () => {
    const r = await rig();
    await writeDesired(r.files, NODE, 1, [{ name: REUSE, value: "1" }]);
    startAgent(r);
    await statusAt(r, 1);
    expect(await stateOriginals(r)).toEqual({ [REUSE]: "2" });

    await rm(r.files.state);
    await writeDesired(r.files, NODE, 2, [
      { name: REUSE, value: "1" },
      { name: FIN, value: "30" },
    ]);
    const s2 = await statusAt(r, 2);
    expect(results(s2)).toEqual({ [REUSE]: "Applied", [FIN]: "Applied" });
    // tcp_tw_reuse reads 1 now (the agent's own value); its original is still the kernel's 2.
    expect(await stateOriginals(r)).toEqual({ [REUSE]: "2", [FIN]: "60" });
    expect(Object.fromEntries((s2.originals ?? []).map((o) => [o.name, o.value]))).toEqual({ [REUSE]: "2", [FIN]: "60" });
    const recovered = (await readEventsWhen(r.files, (ev) => ev.some((e) => e.reason === "OriginalsRecovered"))).filter(
      (e) => e.reason === "OriginalsRecovered",
    );
    expect(recovered).toHaveLength(1);
    expect(recovered[0]).toMatchObject({ type: "Warning" });
    expect(recovered[0]?.message).toContain(`${REUSE}=2`);

    await writeDesired(r.files, NODE, 3, []);
    await statusAt(r, 3);
    expect({ reuse: await nsSysctl(r.ns, REUSE), fin: await nsSysctl(r.ns, FIN) }).toEqual({ reuse: "2", fin: "60" });
  });

  it("refuses to work from a state file it cannot parse, rather than overwrite the originals in it", async () => {
    const r = await rig();
    await writeFile(r.files.state, "{ half a file", { mode: 0o600 });
    await writeDesired(r.files, NODE, 1, [{ name: REUSE, value: "1" }]);
    const a = startAgent(r);
    const line = await a.waitForLog((l) => l.msg === "agent pass failed");
    expect(JSON.stringify(line)).toContain("refusing to overwrite it");
    expect(await nsSysctl(r.ns, REUSE)).toBe("2");
    expect(await readFile(r.files.state, "utf8")).toBe("{ half a file");
    expect((await readEventsWhen(r.files, (ev) => ev.some((e) => e.reason === "AgentError"))).map((e) => e.reason)).toContain("AgentError");
  });

  it("reports a state file it cannot read at the new generation, never the older generation as applied, and applies once the file is readable again", async () => {
    const r = await rig();
    await writeDesired(r.files, NODE, 1, [{ name: REUSE, value: "1" }]);
    startAgent(r, { args: ["--drift-interval", "300ms"] });
    await statusAt(r, 1, (st) => condition(st, "Applied") === "True");
    const good = await readFile(r.files.state, "utf8");

    await writeFile(r.files.state, "{ half a file", { mode: 0o600 });
    await writeDesired(r.files, NODE, 2, [{ name: REUSE, value: "0" }]);
    const s2 = await statusAt(r, 2);
    expect(s2.conditions?.find((c) => c.type === "Applied")).toMatchObject({ status: "False", reason: "StateFileUnreadable", observedGeneration: 2 });
    expect(s2.conditions?.find((c) => c.type === "Degraded")).toMatchObject({ status: "True", reason: "StateFileUnreadable" });
    expect(s2.keys).toEqual([]);
    expect(await nsSysctl(r.ns, REUSE)).toBe("1");
    // Drift checks and retries keep running; none of them may claim generation 2 applied meanwhile.
    await twoMoreFailedPasses(r);
    expect(condition((await readStatus(r.files)) ?? {}, "Applied")).toBe("False");

    await writeFile(r.files.state, good, { mode: 0o600 });
    const later = await statusAt(r, 2, (st) => condition(st, "Applied") === "True");
    expect(results(later)).toEqual({ [REUSE]: "Applied" });
    expect(await nsSysctl(r.ns, REUSE)).toBe("0");
    expect(await stateOriginals(r)).toEqual({ [REUSE]: "2" });
  });

  it("left the host's own sysctls untouched", () => {
    expectHostSysctlsUntouched();
  });
});
