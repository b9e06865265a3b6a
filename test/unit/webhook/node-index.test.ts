import { describe, expect, it } from "vitest";
import { preparePolicy } from "../../../src/rules/index.js";
import { NodeIndex } from "../../../src/webhook/node-index.js";
import { linuxNode } from "./support/reviews.js";

const probe = {
  kernelRelease: "6.14.3-backport",
  probedAt: "2026-12-01T00:00:00Z",
  keys: [{ name: "net.ipv4.tcp_tw_reuse_delay", present: true, value: "1000" }],
};
const state = (name: string, withProbe: unknown = probe) => ({
  apiVersion: "tcptuning.io/v1alpha1",
  kind: "TcpTuningNodeState",
  metadata: { name },
  spec: { nodeName: name },
  status: { probe: withProbe },
});

describe("NodeIndex", () => {
  it("prepares list items that carry no kind, as the apiserver sends them in a List", () => {
    const index = new NodeIndex();
    const { kind: _kind, ...item } = linuxNode("a", "5.4.0");
    index.upsertNode(item);
    expect(index.nodes().map((n) => n.name)).toEqual(["a"]);
  });

  it("lets a node's probe override its kernel version, whichever of the two arrives first", () => {
    const first = new NodeIndex();
    first.upsertNode(linuxNode("a", "5.4.0"));
    first.upsertState(state("a"));
    const second = new NodeIndex();
    second.upsertState(state("a"));
    second.upsertNode(linuxNode("a", "5.4.0"));
    for (const index of [first, second]) {
      const [node] = index.nodes();
      expect(node?.kernelText).toBe("6.14.3-backport");
      expect(node?.probed?.get("net.ipv4.tcp_tw_reuse_delay")).toBe("1000");
    }
  });

  it("falls back to the version string when the node state goes away or its probe is malformed", () => {
    const index = new NodeIndex();
    index.upsertNode(linuxNode("a", "5.4.0"));
    index.upsertState(state("a"));
    index.deleteState(state("a"));
    expect(index.nodes()[0]?.kernelText).toBe("5.4.0");
    index.upsertState(state("a", { keys: "nope" }));
    expect(index.nodes()[0]?.probed).toBeUndefined();
    expect(index.rejected).toBe(1);
  });

  it("judges nodes of equal facts as one class, and selects them through the label index", () => {
    const index = new NodeIndex();
    for (let i = 0; i < 50; i++) index.upsertNode(linuxNode(`edge-${i}`, i % 2 ? "5.4.0" : "6.6.0", { tier: "edge" }));
    index.upsertNode(linuxNode("app-0", "5.4.0", { tier: "app" }));
    expect(index.classCount).toBe(2);
    const policy = preparePolicy({
      metadata: { name: "p" },
      spec: { nodeSelector: { matchLabels: { tier: "edge" } }, sysctls: [{ name: "net.ipv4.tcp_tw_reuse", value: "1" }] },
    });
    const classes = index.select(policy);
    expect(classes).toHaveLength(2);
    expect(classes.flatMap((c) => c.nodes).sort()).toEqual(Array.from({ length: 50 }, (_, i) => `edge-${i}`).sort());
    // The stand-in's name is a token, never a node's.
    expect(classes.every((c) => !c.facts.name.startsWith("edge-"))).toBe(true);
  });

  it("moves a node to another class when its probe or labels change, and drops empty classes", () => {
    const index = new NodeIndex();
    index.upsertNode(linuxNode("a", "5.4.0"));
    index.upsertNode(linuxNode("b", "5.4.0"));
    expect(index.classCount).toBe(1);
    index.upsertState(state("a"));
    expect(index.classCount).toBe(2);
    index.deleteNode("a");
    expect(index.classCount).toBe(1);
    index.upsertNode(linuxNode("b", "5.4.0", { "tcptuning.io/nat": "inbound" }));
    const all = preparePolicy({ metadata: { name: "p" }, spec: { sysctls: [{ name: "net.ipv4.tcp_tw_reuse", value: "1" }] } });
    expect(index.select(all).map((c) => c.facts.placement.nat)).toEqual(["inbound"]);
    expect(index.classCount).toBe(1);
  });

  it("ignores an update that changes nothing the engine reads (a status heartbeat)", () => {
    const index = new NodeIndex();
    const node = linuxNode("a", "5.4.0");
    index.upsertNode(node);
    index.upsertNode({ ...node, status: { ...(node.status as object), conditions: [{ type: "Ready", status: "True" }] } });
    expect(index.size).toBe(1);
    expect(index.classCount).toBe(1);
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
    expect(index.nodes()[0]?.placement).toMatchObject({ nat: "none" });
  });
});
