import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { runWorkers, WorkQueue } from "../../../src/kube/work-queue.js";
import { createLogger } from "../../../src/log.js";

const log = createLogger("test", { level: "silent" });

/** Takes every key available now, without waiting. */
async function drainNow(q: WorkQueue): Promise<string[]> {
  const keys: string[] = [];
  while (q.length > 0) {
    const k = await q.get();
    if (k !== undefined) keys.push(k);
  }
  return keys;
}

describe("WorkQueue", () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 0 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("queues a key added several times while it waits once, in first-added order", async () => {
    const q = new WorkQueue();
    for (const k of ["a", "b", "a", "c", "b", "a"]) q.add(k);
    expect(q.length).toBe(3);
    expect(await drainNow(q)).toEqual(["a", "b", "c"]);
  });

  it("re-queues a key added while it is processed only after done, and never hands it to two workers", async () => {
    const q = new WorkQueue();
    q.add("a");
    const first = await q.get();
    expect(first).toBe("a");
    q.add("a");
    q.add("a");
    expect(q.length).toBe(0);
    let second: string | undefined;
    void q.get().then((k) => (second = k));
    await Promise.resolve();
    expect(second).toBeUndefined();
    q.done("a");
    await Promise.resolve();
    expect(second).toBe("a");
    q.done("a");
    expect(q.length).toBe(0);
  });

  it("hands a key to a worker already waiting in get()", async () => {
    const q = new WorkQueue();
    const waiting = q.get();
    q.add("x");
    await expect(waiting).resolves.toBe("x");
  });

  it("adds a key after addAfter's delay, not before", async () => {
    const q = new WorkQueue();
    q.addAfter("later", 1000);
    vi.advanceTimersByTime(999);
    expect(q.length).toBe(0);
    vi.advanceTimersByTime(1);
    expect(q.length).toBe(1);
  });

  it("retries a failing key after its own doubling backoff, and forget resets it", async () => {
    const q = new WorkQueue({ backoff: { initialMs: 100, maxMs: 400 } });
    const delays: number[] = [];
    for (let i = 0; i < 4; i++) {
      q.addRateLimited("bad");
      const start = Date.now();
      while (q.length === 0) vi.advanceTimersByTime(10);
      delays.push(Date.now() - start);
      await q.get();
      q.done("bad");
    }
    expect(delays).toEqual([100, 200, 400, 400]);
    expect(q.numRequeues("bad")).toBe(4);
    q.addRateLimited("other");
    vi.advanceTimersByTime(100);
    expect(q.length).toBe(1);
    q.forget("bad");
    expect(q.numRequeues("bad")).toBe(0);
    q.addRateLimited("bad");
    vi.advanceTimersByTime(100);
    expect(q.length).toBe(2);
  });

  it("on shutDown wakes waiting workers with undefined, drops queued and delayed keys and ignores new ones", async () => {
    const q = new WorkQueue();
    const waiting = q.get();
    await q.shutDown();
    await expect(waiting).resolves.toBeUndefined();
    const q2 = new WorkQueue();
    q2.add("a");
    q2.addAfter("b", 10);
    await q2.shutDown();
    q2.add("c");
    vi.advanceTimersByTime(100);
    expect(q2.length).toBe(0);
    await expect(q2.get()).resolves.toBeUndefined();
  });

  it("with drain, still hands out the queued keys and resolves once they are done", async () => {
    const q = new WorkQueue();
    q.add("a");
    q.add("b");
    const taken = await q.get();
    let drained = false;
    const shut = q.shutDown({ drain: true }).then(() => (drained = true));
    await expect(q.get()).resolves.toBe("b");
    q.done("b");
    await Promise.resolve();
    expect(drained).toBe(false);
    q.done(taken ?? "");
    await shut;
    expect(drained).toBe(true);
    await expect(q.get()).resolves.toBeUndefined();
  });
});

describe("runWorkers", () => {
  it("reconciles each key, retries a failing one with backoff until it succeeds, and ends on shutDown", async () => {
    vi.useFakeTimers({ now: 0 });
    try {
      const q = new WorkQueue({ backoff: { initialMs: 50, maxMs: 1000 } });
      const seen: string[] = [];
      let failuresLeft = 2;
      const running = runWorkers(
        q,
        2,
        async (key) => {
          seen.push(key);
          if (key === "flaky" && failuresLeft-- > 0) throw new Error("apiserver said 500");
        },
        log,
        "test",
      );
      q.add("ok");
      q.add("flaky");
      await vi.advanceTimersByTimeAsync(50 + 100 + 10);
      expect(seen.filter((k) => k === "flaky")).toHaveLength(3);
      expect(seen.filter((k) => k === "ok")).toHaveLength(1);
      expect(q.numRequeues("flaky")).toBe(0);
      await q.shutDown();
      await running;
    } finally {
      vi.useRealTimers();
    }
  });
});
