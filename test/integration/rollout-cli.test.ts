import { spawn } from "node:child_process";
import { mkdtemp, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { CustomObjectsApi } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { API_GROUP, API_VERSION, POLICY_PLURAL } from "../../src/api/v1alpha1/group.js";
import { PAUSED_ANNOTATION, RESUME_ANNOTATION, type RolloutStatus } from "../../src/api/v1alpha1/rollout-status.js";
import { mergePatch } from "../../src/kube/patch.js";
import { binDir } from "../support/control-plane.js";
import { kubeConfig, kubeconfigPath, uniqueName } from "../support/cluster.js";
import { installCrds } from "../support/crds.js";
import { eventually } from "../support/eventually.js";

/**
 * `tcp-tuning rollout` against the real API server: status read through the kubeconfig, --watch
 * following the policy's status.rollout to its end with the documented exit codes, pause/resume
 * as annotations, and the same binary as a kubectl plugin. Here the test writes status.rollout
 * itself (as the controller would); test/integration/rollout.test.ts runs it against the controller.
 */

const REPO = resolve(import.meta.dirname, "../..");
const CLI = join(REPO, "bin/tcp-tuning.js");
const kc = kubeConfig();
const api = kc.makeApiClient(CustomObjectsApi);
const names: string[] = [];

beforeAll(async () => {
  await installCrds(kc);
}, 120_000);

afterAll(async () => {
  for (const name of names) await api.deleteClusterCustomObject({ group: API_GROUP, version: API_VERSION, plural: POLICY_PLURAL, name }).catch(() => undefined);
});

async function createPolicy(): Promise<string> {
  const name = uniqueName("rollout-cli");
  names.push(name);
  await api.createClusterCustomObject({
    group: API_GROUP,
    version: API_VERSION,
    plural: POLICY_PLURAL,
    body: {
      apiVersion: `${API_GROUP}/${API_VERSION}`,
      kind: "TcpTuningPolicy",
      metadata: { name },
      spec: {
        sysctls: [{ name: "net.ipv4.tcp_fin_timeout", value: "30" }],
        rollout: { maxUnavailable: 2, canary: { nodes: 1, soakSeconds: 1 }, pauseOnFailure: true },
      },
    },
  });
  return name;
}

const T = "2026-03-01T10:00:00Z";

function rollout(wave: number, done: number, extra: Partial<RolloutStatus> = {}): RolloutStatus {
  return {
    generation: 1,
    action: "Apply",
    wave,
    waves: 3,
    waveStartedAt: T,
    waveNodes: wave === 1 ? ["a"] : ["b", "c"],
    nodes: { total: 5, done, inFlight: 0, waiting: 5 - done, failed: 0 },
    waveList: [
      { wave: 1, size: 1, done: Math.min(done, 1), failed: 0, state: wave > 1 ? "Done" : "InFlight" },
      { wave: 2, size: 2, done: Math.max(0, Math.min(done - 1, 2)), failed: 0, state: wave > 2 ? "Done" : wave === 2 ? "InFlight" : "Waiting" },
      { wave: 3, size: 2, done: Math.max(0, done - 3), failed: 0, state: wave === 3 ? "InFlight" : "Waiting" },
    ],
    ...extra,
  };
}

async function writeStatus(name: string, status: Record<string, unknown>): Promise<void> {
  const conds = (status["conditions"] as { type: string; status: string; reason: string; message: string }[] | undefined)?.map((c) => ({
    ...c,
    observedGeneration: 1,
    lastTransitionTime: T,
  }));
  await api.patchClusterCustomObjectStatus(
    {
      group: API_GROUP,
      version: API_VERSION,
      plural: POLICY_PLURAL,
      name,
      body: { status: { observedGeneration: 1, ...status, ...(conds ? { conditions: conds } : {}) } },
    },
    mergePatch(),
  );
}

interface Run {
  readonly out: string[];
  readonly exit: Promise<number | null>;
}

function runCli(args: readonly string[], env: Record<string, string> = {}, command = process.execPath, pre: readonly string[] = [CLI]): Run {
  const child = spawn(command, [...pre, ...args], { cwd: REPO, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  const out: string[] = [];
  let buf = "";
  child.stdout.setEncoding("utf8");
  child.stdout.on("data", (d: string) => {
    buf += d;
    const lines = buf.split("\n");
    buf = lines.pop() ?? "";
    out.push(...lines);
  });
  child.stderr.resume();
  const exit = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  setTimeout(() => child.kill("SIGKILL"), 110_000).unref();
  return { out, exit };
}

describe("tcp-tuning rollout status", () => {
  it("follows a rollout with --watch in plain lines and exits 0 when Ready", async () => {
    const name = await createPolicy();
    await writeStatus(name, { rollout: rollout(1, 0, { nodes: { total: 5, done: 0, inFlight: 1, waiting: 4, failed: 0 } }) });
    const run = runCli(["rollout", "status", `ttp/${name}`, "--watch", "--interval", "200ms", "--kubeconfig", kubeconfigPath()]);
    await eventually("the first line", async () => (run.out.length > 0 ? true : undefined), 60_000);
    await writeStatus(name, { rollout: rollout(2, 1, { nodes: { total: 5, done: 1, inFlight: 2, waiting: 2, failed: 0 } }) });
    await eventually("wave 2 seen", async () => (run.out.some((l) => l.startsWith("wave 2/3")) ? true : undefined), 60_000);
    await writeStatus(name, {
      rollout: rollout(3, 5, { waveCompletedAt: T, completedAt: T }),
      conditions: [{ type: "Ready", status: "True", reason: "RolloutComplete", message: "rollout complete in 3 wave(s): 5/5 nodes applied" }],
    });
    expect(await run.exit).toBe(0);
    expect(run.out).toEqual([
      "wave 1/3: 0/5 nodes applied, 1 in flight",
      "wave 2/3: 1/5 nodes applied, 2 in flight",
      "rollout complete in 3 wave(s): 5/5 nodes applied",
      "Ready: rollout complete in 3 wave(s): 5/5 nodes applied",
    ]);
  }, 120_000);

  it("exits 1 when a failure stopped the rollout, naming the node and why; 3 without --watch while in progress", async () => {
    const name = await createPolicy();
    await writeStatus(name, { rollout: rollout(2, 1, { nodes: { total: 5, done: 1, inFlight: 2, waiting: 2, failed: 0 } }) });
    const snapshot = runCli(["rollout", "status", `ttp/${name}`], { KUBECONFIG: kubeconfigPath() });
    expect(await snapshot.exit).toBe(3);
    expect(snapshot.out[1]).toBe("wave 2/3: 1/5 nodes applied, 2 in flight");
    expect(snapshot.out).toContain("  wave 2 [........................] 0/2 in flight");

    await writeStatus(name, {
      rollout: rollout(2, 2, {
        waveCompletedAt: T,
        nodes: { total: 5, done: 2, inFlight: 0, waiting: 2, failed: 1 },
        failedNodes: [{ name: "c", wave: 2, reason: "ApplyFailed", message: "net.ipv4.tcp_fin_timeout Failed: EINVAL" }],
        halted: { wave: 2, reason: "ApplyFailed", message: "1 node(s) failed in wave 2: c: ApplyFailed: net.ipv4.tcp_fin_timeout Failed: EINVAL", at: T },
      }),
      conditions: [
        {
          type: "Degraded",
          status: "True",
          reason: "RolloutHalted",
          message: "1 node(s) failed in wave 2: c: ApplyFailed: net.ipv4.tcp_fin_timeout Failed: EINVAL",
        },
      ],
    });
    const watch = runCli(["rollout", "status", `ttp/${name}`, "-w", "--kubeconfig", kubeconfigPath()]);
    expect(await watch.exit).toBe(1);
    expect(watch.out).toEqual([
      "halted after wave 2/3: 2/5 nodes applied, 1 failed; set tcptuning.io/resume to a new value or change the spec to resume",
      "failed: c (wave 2) ApplyFailed: net.ipv4.tcp_fin_timeout Failed: EINVAL",
      "Degraded: 1 node(s) failed in wave 2: c: ApplyFailed: net.ipv4.tcp_fin_timeout Failed: EINVAL",
    ]);
  }, 120_000);

  it("says so and exits 2 for a policy that does not exist", async () => {
    const run = runCli(["rollout", "status", "ttp/does-not-exist", "--kubeconfig", kubeconfigPath()]);
    expect(await run.exit).toBe(2);
  }, 60_000);
});

describe("tcp-tuning rollout pause and resume", () => {
  it("set the paused annotation, then remove it and set a new resume value", async () => {
    const name = await createPolicy();
    const annotations = async (): Promise<Record<string, string>> =>
      (
        (await api.getClusterCustomObject({ group: API_GROUP, version: API_VERSION, plural: POLICY_PLURAL, name })) as {
          metadata: { annotations?: Record<string, string> };
        }
      ).metadata.annotations ?? {};
    expect(await runCli(["rollout", "pause", `ttp/${name}`, "--kubeconfig", kubeconfigPath()]).exit).toBe(0);
    expect(await annotations()).toMatchObject({ [PAUSED_ANNOTATION]: "true" });
    expect(await runCli(["rollout", "resume", `ttp/${name}`, "--kubeconfig", kubeconfigPath()]).exit).toBe(0);
    const after = await annotations();
    expect(after[PAUSED_ANNOTATION]).toBeUndefined();
    expect(after[RESUME_ANNOTATION]).toMatch(/^\d{4}-\d\d-\d\dT/);
  }, 120_000);
});

describe("as a kubectl plugin", () => {
  it("runs as `kubectl tcp-tuning rollout status` when kubectl-tcp_tuning is on the PATH", async () => {
    const name = await createPolicy();
    await writeStatus(name, {
      rollout: rollout(3, 5, { waveCompletedAt: T, completedAt: T }),
      conditions: [{ type: "Ready", status: "True", reason: "RolloutComplete", message: "done" }],
    });
    const dir = await mkdtemp(join(tmpdir(), "tt-plugin-"));
    try {
      await symlink(CLI, join(dir, "kubectl-tcp_tuning"));
      const kubectl = join(binDir(["kubectl"]), "kubectl");
      const run = runCli(
        ["tcp-tuning", "rollout", "status", `ttp/${name}`],
        { PATH: `${dir}:${join(process.execPath, "..")}:${process.env["PATH"] ?? ""}`, KUBECONFIG: kubeconfigPath() },
        kubectl,
        [],
      );
      expect(await run.exit).toBe(0);
      expect(run.out[1]).toBe("rollout complete in 3 wave(s): 5/5 nodes applied");
      expect(run.out.at(-1)).toBe("Ready: done");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
