import { EventsV1Api, type EventsV1Event } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { makeApiClient } from "../../src/kube/client.js";
import { EventRecorder, type EventObjectRef } from "../../src/kube/events.js";
import { createLogger } from "../../src/log.js";
import { kubeConfig, uniqueName } from "../support/cluster.js";
import { SilentServer } from "../support/silent-server.js";

const log = createLogger("test", { level: "silent" });

function regarding(name: string): EventObjectRef {
  return { apiVersion: "tcptuning.io/v1alpha1", kind: "TcpTuningNodeState", name, uid: "6f1c8a52-0000-4000-8000-000000000001" };
}

async function eventsAbout(api: EventsV1Api, name: string): Promise<EventsV1Event[]> {
  const list = await api.listNamespacedEvent({ namespace: "default", fieldSelector: `regarding.name=${name}` });
  return list.items;
}

describe("EventRecorder on events.k8s.io/v1", () => {
  it("turns 20 identical occurrences into one Event whose series counts 20", async () => {
    const api = makeApiClient(kubeConfig(), EventsV1Api);
    const name = uniqueName("node");
    const recorder = new EventRecorder({ api, controller: "tcptuning.io/agent", instance: name, logger: log });
    for (let i = 0; i < 20; i++)
      recorder.record(regarding(name), {
        type: "Warning",
        reason: "DriftCorrected",
        action: "CorrectDrift",
        note: "net.ipv4.tcp_fin_timeout changed by someone else and re-applied",
      });
    await recorder.flush();
    const events = await eventsAbout(api, name);
    expect(events).toHaveLength(1);
    const e = events[0];
    expect(e?.series?.count).toBe(20);
    expect(e?.reason).toBe("DriftCorrected");
    expect(e?.action).toBe("CorrectDrift");
    expect(e?.reportingController).toBe("tcptuning.io/agent");
    expect(e?.reportingInstance).toBe(name);
    expect(e?.regarding?.kind).toBe("TcpTuningNodeState");
    // Creates and updates: the first create, then one series update at flush, not one write each.
    expect(recorder.writes).toBeLessThanOrEqual(2);
    await recorder.stop();
  });

  it("keeps different reasons (and notes) apart: one Event each, and later repeats count on the right one", async () => {
    const api = makeApiClient(kubeConfig(), EventsV1Api);
    const name = uniqueName("node");
    const recorder = new EventRecorder({ api, controller: "tcptuning.io/agent", instance: name, logger: log });
    const applied = { type: "Normal", reason: "Applied", action: "Apply", note: "applied net.ipv4.tcp_tw_reuse=1" } as const;
    const failed = { type: "Warning", reason: "ApplyFailed", action: "Apply", note: "not applied: net.core.somaxconn" } as const;
    const failedOther = { ...failed, note: "not applied: net.ipv4.tcp_fin_timeout" };
    recorder.record(regarding(name), applied);
    recorder.record(regarding(name), failed);
    recorder.record(regarding(name), failedOther);
    recorder.record(regarding(name), failed);
    recorder.record(regarding(name), failed);
    await recorder.stop();
    const events = await eventsAbout(api, name);
    const byNote = Object.fromEntries(events.map((e) => [e.note, e.series?.count ?? 1]));
    expect(byNote).toEqual({ [applied.note]: 1, [failed.note]: 3, [failedOther.note]: 1 });
  });

  it("starts a new Event once the previous series has ended (no repeat within the window)", async () => {
    const api = makeApiClient(kubeConfig(), EventsV1Api);
    const name = uniqueName("node");
    let clock = Date.now();
    const recorder = new EventRecorder({ api, controller: "tcptuning.io/agent", instance: name, logger: log, windowMs: 60_000, now: () => clock });
    const input = { type: "Normal", reason: "Restored", action: "Restore", note: "original values restored" } as const;
    recorder.record(regarding(name), input);
    recorder.record(regarding(name), input);
    clock += 61_000;
    recorder.record(regarding(name), input);
    await recorder.stop();
    const counts = (await eventsAbout(api, name)).map((e) => e.series?.count ?? 1).sort();
    expect(counts).toEqual([1, 2]);
  });

  it("never throws into the caller and stops within its limit when the API server does not answer", async () => {
    const silent = await SilentServer.start();
    try {
      const api = makeApiClient(silent.kubeConfig(), EventsV1Api, { timeoutMs: 300 });
      const recorder = new EventRecorder({ api, controller: "tcptuning.io/agent", instance: "n", logger: log });
      expect(() => recorder.record(regarding("n"), { type: "Warning", reason: "AgentError", action: "Reconcile", note: "x" })).not.toThrow();
      const started = performance.now();
      await recorder.stop(2000);
      expect(performance.now() - started).toBeLessThan(5000);
      expect(recorder.failures).toBe(1);
    } finally {
      await silent.close();
    }
  });
});
