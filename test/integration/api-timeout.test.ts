import { CoreV1Api, CustomObjectsApi } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeApiClient } from "../../src/kube/client.js";
import { ApiTimeoutError, withTimeout } from "../../src/kube/timeout.js";
import { kubeConfig } from "../support/cluster.js";
import { SilentServer } from "../support/silent-server.js";

let silent: SilentServer;

beforeAll(async () => {
  silent = await SilentServer.start();
});

afterAll(async () => {
  await silent?.close();
});

describe("API calls have a timeout", () => {
  it.each(["https", "http"] as const)(
    "a call to a server that accepts the connection and never answers (%s) fails within the timeout, saying which request",
    async (scheme) => {
      const core = makeApiClient(silent.kubeConfig(scheme), CoreV1Api, { timeoutMs: 500 });
      const started = performance.now();
      const err = await core.listNode().then(
        () => undefined,
        (e: unknown) => e,
      );
      const elapsed = performance.now() - started;
      expect(err).toBeInstanceOf(ApiTimeoutError);
      expect((err as Error).message).toBe("GET /api/v1/nodes timed out after 500 ms");
      expect(silent.accepted).toBeGreaterThan(0);
      expect(elapsed).toBeGreaterThanOrEqual(450);
      expect(elapsed).toBeLessThan(10_000);
    },
  );

  it("a shutdown signal aborts the client's in-flight requests at once", async () => {
    const shutdown = new AbortController();
    const custom = makeApiClient(silent.kubeConfig(), CustomObjectsApi, { timeoutMs: 60_000, signal: shutdown.signal });
    const call = custom.getClusterCustomObject({ group: "g.io", version: "v1", plural: "things", name: "x" });
    setTimeout(() => shutdown.abort(new Error("shutting down")), 200);
    await expect(call).rejects.toThrow("shutting down");
  });

  it("withTimeout rejects with what timed out and aborts the work behind it", async () => {
    const abort = new AbortController();
    const never = new Promise<void>(() => undefined);
    await expect(withTimeout(never, 100, "lease renewal", abort)).rejects.toThrow("lease renewal timed out after 100 ms");
    expect(abort.signal.aborted).toBe(true);
  });

  it("a client made by makeApiClient talks to the real apiserver as usual", async () => {
    const core = makeApiClient(kubeConfig(), CoreV1Api, { timeoutMs: 20_000 });
    const ns = await core.readNamespace({ name: "default" });
    expect(ns.metadata?.name).toBe("default");
  });
});
