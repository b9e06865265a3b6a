import { describe, expect, it } from "vitest";
import { listAllPages } from "../../../src/kube/list-pages.js";

const item = (name: string) => ({ metadata: { name, labels: { big: "x".repeat(100) } } });

describe("listAllPages", () => {
  it("follows continue tokens, projects each page, and returns the snapshot's resourceVersion without the token", async () => {
    const pages = [
      { metadata: { resourceVersion: "42", _continue: "t1", remainingItemCount: 3 }, items: [item("a"), item("b")] },
      { metadata: { resourceVersion: "42", _continue: "t2", remainingItemCount: 1 }, items: [item("c"), item("d")] },
      { metadata: { resourceVersion: "42" }, items: [item("e")] },
    ];
    const asked: { limit: number; _continue?: string }[] = [];
    const list = await listAllPages(
      async (page) => {
        asked.push(page);
        return { apiVersion: "v1", kind: "NodeList", ...(pages[asked.length - 1] as (typeof pages)[number]) };
      },
      (o) => ({ metadata: { name: o.metadata.name } }),
      2,
    );
    expect(asked).toEqual([{ limit: 2 }, { limit: 2, _continue: "t1" }, { limit: 2, _continue: "t2" }]);
    expect(list.items.map((i) => i.metadata.name)).toEqual(["a", "b", "c", "d", "e"]);
    expect(list.items[0]).toEqual({ metadata: { name: "a" } });
    expect(list.metadata).toEqual({ resourceVersion: "42" });
    expect(list.kind).toBe("NodeList");
  });

  it("makes one request when the server answers without a continue token", async () => {
    let calls = 0;
    const list = await listAllPages(
      async () => {
        calls++;
        return { metadata: { resourceVersion: "7", _continue: "" }, items: [item("a")] };
      },
      (o) => o,
    );
    expect(calls).toBe(1);
    expect(list.items).toHaveLength(1);
  });
});
