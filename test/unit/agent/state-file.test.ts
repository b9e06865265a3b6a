import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { emptyState, loadStateFile, saveStateFile, StateFileError, withOriginals, withoutOriginal } from "../../../src/agent/state-file.js";

describe("the originals state file", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "tt-state-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("is empty when it does not exist yet (first start on a node)", async () => {
    expect(await loadStateFile(join(dir, "missing.json"))).toEqual(emptyState());
  });

  it("round-trips originals and leaves no temp file behind", async () => {
    const path = join(dir, "sub", "state.json");
    const state = withOriginals(emptyState(), [{ name: "net.ipv4.tcp_tw_reuse", value: "2", recordedAt: "2026-01-01T00:00:00Z" }]);
    await saveStateFile(path, state);
    expect(await loadStateFile(path)).toEqual(state);
    expect(await readdir(join(dir, "sub"))).toEqual(["state.json"]);
  });

  it("keeps the first original of a key: recording again does not overwrite it", () => {
    const first = withOriginals(emptyState(), [{ name: "net.ipv4.tcp_tw_reuse", value: "2", recordedAt: "t1" }]);
    const again = withOriginals(first, [{ name: "net.ipv4.tcp_tw_reuse", value: "1", recordedAt: "t2" }]);
    expect(again.originals).toEqual([{ name: "net.ipv4.tcp_tw_reuse", value: "2", recordedAt: "t1" }]);
    expect(withoutOriginal(again, "net.ipv4.tcp_tw_reuse").originals).toEqual([]);
  });

  it.each([
    ["not JSON", "{oops", /not JSON/],
    ["the wrong shape", JSON.stringify({ version: 1, originals: [{ name: "x" }] }), /schema/],
    ["an unknown version", JSON.stringify({ version: 9, originals: [] }), /schema/],
  ])("refuses a file that is %s instead of overwriting it", async (_what, text, reason) => {
    const path = join(dir, "state.json");
    await writeFile(path, text);
    await expect(loadStateFile(path)).rejects.toBeInstanceOf(StateFileError);
    await expect(loadStateFile(path)).rejects.toThrow(reason);
    expect(await readFile(path, "utf8")).toBe(text);
  });
});
