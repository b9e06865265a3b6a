import { describe, expect, it } from "vitest";
import { NodeIndex } from "../../../src/webhook/node-index.js";
import { linuxNode } from "./support/reviews.js";

const probe = { kernelRelease: "6.14.3-backport", probedAt: "2026-12-01T00:00:00Z", keys: [{ name: "net.ipv4.tcp_tw_reuse_delay", present: true, value: "1000" }] };
const state = (name: string, withProbe: unknown = probe) => ({ apiVersion: "tcptuning.io/v1alpha1", kind: "TcpTuningNodeState", metadata: { name }, spec: { nodeName: name }, status: { probe: withProbe } });

describe("NodeIndex", () => {
  it("prepares list items that carry no kind, as the apiserver sends them in a List", () => {
    const index = new NodeIndex();
    const { kind: _kind, ...item } = linuxNode("a", "5.4.0");
    index.upsertNode(item);
    expect(index.snapshot().map((n) => n.name)).toEqual(["a"]);
  });

  it("lets a node's probe override its kernel version, whichever of the two arrives first", () => {
    const first = new NodeIndex();
    first.upsertNode(linuxNode("a", "5.4.0"));
    first.upsertState(state("a"));
    const second = new NodeIndex();
    second.upsertState(state("a"));
    second.upsertNode(linuxNode("a", "5.4.0"));
    for (const index of [first, second]) {
      const [node] = index.snapshot();
      expect(node?.kernelText).toBe("6.14.3-backport");
      expect(node?.probed?.get("net.ipv4.tcp_tw_reuse_delay")).toBe("1000");
    }
  });

  it("falls back to the version string when the node state goes away or its probe is malformed", () => {
    const index = new NodeIndex();
    index.upsertNode(linuxNode("a", "5.4.0"));
    index.upsertState(state("a"));
    index.deleteState(state("a"));
    expect(index.snapshot()[0]?.kernelText).toBe("5.4.0");
    index.upsertState(state("a", { keys: "nope" }));
    expect(index.snapshot()[0]?.probed).toBeUndefined();
    expect(index.rejected).toBe(1);
  });

  it("keeps one snapshot array until something changes", () => {
    const index = new NodeIndex();
    index.upsertNode(linuxNode("a", "5.4.0"));
    const s1 = index.snapshot();
    expect(index.snapshot()).toBe(s1);
    index.upsertNode(linuxNode("b", "6.6.0"));
    const s2 = index.snapshot();
    expect(s2).not.toBe(s1);
    index.deleteNode("a");
    expect(index.snapshot().map((n) => n.name)).toEqual(["b"]);
  });

  it("counts objects it cannot read instead of throwing", () => {
    const index = new NodeIndex();
    index.upsertNode({ metadata: {} });
    index.upsertNode(null);
    index.upsertState({});
    expect(index.rejected).toBe(3);
    expect(index.size).toBe(0);
  });

  it("applies the default placement to unlabelled nodes", () => {
    const index = new NodeIndex({ nat: "none" });
    index.upsertNode(linuxNode("a", "5.4.0"));
    expect(index.snapshot()[0]?.placement).toMatchObject({ nat: "none" });
  });
});
