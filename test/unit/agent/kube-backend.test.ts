import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createKubeBackend } from "../../../src/agent/kube-backend.js";
import type { DesiredState } from "../../../src/agent/main.js";
import type { NodeState } from "../../../src/api/v1alpha1/node-state.js";
import type { NodeStateClient, WatchPhase } from "../../../src/kube/node-state-client.js";
import { createLogger } from "../../../src/log.js";

/**
 * The kube backend's retry timing, with a client whose get fails as an unreachable API server's
 * does (the real-apiserver path is agent-apiserver.test.ts). Fake timers: no test waits in real time.
 */

type Client = Pick<NodeStateClient, "get" | "watch" | "patchStatus">;
const events = { record: () => undefined, stop: async () => undefined };

const NODE = "node-a";
const STATE: NodeState = {
  apiVersion: "tcptuning.io/v1alpha1",
  kind: "TcpTuningNodeState",
  metadata: { name: NODE, generation: 1, resourceVersion: "7", uid: "u1" },
  spec: { nodeName: NODE, sysctls: [{ name: "net.ipv4.tcp_tw_reuse", value: "1", policy: "p" }] },
};

function unreachable(): Error {
  return Object.assign(new Error("connect ECONNREFUSED 10.96.0.1:443"), { code: "ECONNREFUSED" });
}

function fakeClient(getResults: (() => Promise<NodeState | undefined>)[]) {
  const getCalls: number[] = [];
  let endWatch: ((err: unknown) => void) | undefined;
  const client: Client = {
    get: async () => {
      getCalls.push(Date.now());
      const next = getResults.shift();
      if (!next) throw unreachable();
      return next();
    },
    watch: async (
      _name: string,
      _rv: string | undefined,
      _onEvent: (phase: WatchPhase, obj: NodeState | undefined) => void,
      onDone: (err: unknown) => void,
    ) => {
      endWatch = onDone;
      return { stop: () => undefined };
    },
    patchStatus: async () => STATE,
  };
  return { client, getCalls, endWatch: (err: unknown) => endWatch?.(err) };
}

describe("the agent's kube backend when the API server cannot be reached", () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 0 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("backs off exponentially up to the maximum, delivers nothing meanwhile, and starts again from the initial delay once a watch is established", async () => {
    const getResults: (() => Promise<NodeState | undefined>)[] = [];
    const fake = fakeClient(getResults);
    const delivered: DesiredState[] = [];
    const backend = createKubeBackend({
      nodeName: NODE,
      client: fake.client,
      events,
      log: createLogger("test", { level: "silent" }),
      backoff: { initialMs: 1000, maxMs: 8000 },
      random: () => 0.5,
    });
    await backend.start((d) => delivered.push(d));

    await vi.advanceTimersByTimeAsync(1000 + 2000 + 4000 + 8000 + 8000);
    // Calls at 0, 1 s, 3 s, 7 s, 15 s and 23 s: doubling, capped at 8 s.
    expect(fake.getCalls).toEqual([0, 1000, 3000, 7000, 15000, 23000]);
    // An unreachable API server is not a deleted node state: nothing to restore, nothing to apply.
    expect(delivered).toEqual([]);

    // The server is back: the object is delivered, and after the next failure the delay starts at 1 s again.
    getResults.push(async () => STATE);
    await vi.advanceTimersByTimeAsync(8000);
    expect(delivered.map((d) => [d.generation, d.deleted])).toEqual([[1, false]]);
    fake.endWatch(unreachable());
    await vi.advanceTimersByTimeAsync(1000);
    expect(fake.getCalls.slice(-2)).toEqual([31000, 32000]);
    await backend.stop();
  });

  it("re-lists promptly after a watch that ended normally, and a node state that does not exist is delivered as deleted", async () => {
    const fake = fakeClient([async () => STATE, async () => undefined]);
    const delivered: DesiredState[] = [];
    const backend = createKubeBackend({
      nodeName: NODE,
      client: fake.client,
      events,
      log: createLogger("test", { level: "silent" }),
      rewatchDelayMs: 500,
      backoff: { initialMs: 1000, maxMs: 8000 },
      random: () => 0.5,
    });
    await backend.start((d) => delivered.push(d));
    fake.endWatch(null);
    await vi.advanceTimersByTimeAsync(500);
    expect(fake.getCalls).toEqual([0, 500]);
    expect(delivered.map((d) => [d.generation, d.deleted])).toEqual([
      [1, false],
      [undefined, true],
    ]);
    await backend.stop();
  });
});

describe("the agent's kube backend and the object it is given", () => {
  it("does not deliver a node state whose spec names another node (nothing applied, nothing restored)", async () => {
    const other: NodeState = { ...STATE, spec: { ...STATE.spec, nodeName: "node-b" } };
    const fake = fakeClient([async () => other]);
    const delivered: DesiredState[] = [];
    const backend = createKubeBackend({ nodeName: NODE, client: fake.client, events, log: createLogger("test", { level: "silent" }) });
    await backend.start((d) => delivered.push(d));
    expect(fake.getCalls).toHaveLength(1);
    expect(delivered).toEqual([]);
    await backend.stop();
  });
});
