import { describe, expect, it } from "vitest";
import { ListItemSplitter } from "../../../src/kube/list-items.js";
import { listEnvelopeOf } from "../../../src/kube/raw-list.js";

/** Feeds `text` to a splitter in chunks cut at `cuts` (byte offsets); returns the items and the envelope. */
function split(text: string, cuts: readonly number[] = []): { items: unknown[]; envelope: unknown } {
  const bytes = Buffer.from(text, "utf8");
  const items: unknown[] = [];
  const splitter = new ListItemSplitter((item) => items.push(item));
  let from = 0;
  for (const cut of [...cuts, bytes.length]) {
    splitter.push(bytes.subarray(from, cut));
    from = cut;
  }
  return { items, envelope: splitter.end() };
}

/** A list whose items hold what a byte scanner could trip on: braces and quotes in strings, escapes, multi-byte UTF-8, nesting. */
const tricky = {
  apiVersion: "v1",
  kind: "NodeList",
  metadata: { resourceVersion: "42", continue: 'eyJ2Ijoi}]"', remainingItemCount: 3 },
  items: [
    { metadata: { name: "a", labels: { "x/y": "}{][,:", quote: 'say "hi"', slash: "c:\\dir\\" } } },
    { metadata: { name: "b" }, status: { images: [{ names: ["é", "日本", "😀"] }], items: [{ nested: true }] } },
    { metadata: { name: "c", annotations: { json: '{"items":[1,2]}' } }, spec: { taints: [] }, n: [1, -2.5e3, null, true] },
  ],
};

describe("ListItemSplitter", () => {
  it("hands over every item, parsed, and returns the list without them, wherever the chunks are cut", () => {
    const text = JSON.stringify(tricky, null, 1);
    const length = Buffer.byteLength(text);
    const { items: _items, ...rest } = tricky;
    for (let cut = 0; cut <= length; cut++) {
      const got = split(text, [cut]);
      expect(got.items).toEqual(tricky.items);
      expect(got.envelope).toEqual({ ...rest, items: [] });
    }
    // And byte by byte.
    const one = split(
      text,
      Array.from({ length }, (_, i) => i),
    );
    expect(one.items).toEqual(tricky.items);
  });

  it.each([
    [
      "an empty items array",
      '{"kind":"NodeList","metadata":{"resourceVersion":"1"},"items":[]}',
      0,
      { kind: "NodeList", metadata: { resourceVersion: "1" }, items: [] },
    ],
    ["items null", '{"kind":"NodeList","items":null}', 0, { kind: "NodeList", items: null }],
    ["no items key", '{"kind":"NodeList"}', 0, { kind: "NodeList" }],
    ["items before metadata", '{"items":[{"a":1},{"b":2}],"metadata":{"items":[3]}}', 2, { items: [], metadata: { items: [3] } }],
  ])("reads a list with %s", (_what, text, count, envelope) => {
    const got = split(text);
    expect(got.items).toHaveLength(count);
    expect(got.envelope).toEqual(envelope);
  });

  it.each([
    ["a string", '{"items":["a"]}'],
    ["a number", '{"items":[{"a":1}, 7]}'],
    ["null", '{"items":[null]}'],
    ["an array", '{"items":[[{"a":1}]]}'],
  ])("refuses a list whose item is %s", (_what, text) => {
    expect(() => split(text)).toThrow("a list item is not an object");
  });

  it("refuses an answer that ends before the list does, and passes on an item that is not valid JSON", () => {
    expect(() => split('{"items":[{"a":1}')).toThrow("ended before it was complete");
    expect(() => split('{"items":[{"a":"unterminated}]}')).toThrow("ended before it was complete");
    expect(() => split('{"items":[{"a":nope}]}')).toThrow(SyntaxError);
  });

  it("stops at the first item whose handler throws", () => {
    const splitter = new ListItemSplitter(() => {
      throw new Error("handler refuses");
    });
    expect(() => splitter.push(Buffer.from('{"items":[{"a":1},{"b":2}]}'))).toThrow("handler refuses");
    expect(splitter.count).toBe(1);
  });
});

describe("listEnvelopeOf", () => {
  it("gives the resourceVersion and the continue token in client-node's shape", () => {
    expect(listEnvelopeOf({ apiVersion: "v1", kind: "NodeList", metadata: { resourceVersion: "9", continue: "t", remainingItemCount: 4 }, items: [] })).toEqual(
      {
        apiVersion: "v1",
        kind: "NodeList",
        metadata: { resourceVersion: "9", _continue: "t", remainingItemCount: 4 },
      },
    );
    expect(listEnvelopeOf({ metadata: {} })).toEqual({ metadata: {} });
  });

  it.each([
    ["a resourceVersion that is not a string", { metadata: { resourceVersion: 9 } }],
    ["a list that is not an object", ["a"]],
  ])("refuses %s", (_what, json) => {
    expect(() => listEnvelopeOf(json)).toThrow();
  });
});
