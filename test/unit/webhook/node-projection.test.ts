import type { V1Node } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { NodeIndex } from "../../../src/webhook/node-index.js";
import { projectNode, projectNodeState } from "../../../src/webhook/node-cache.js";

const whole = {
  apiVersion: "v1",
  kind: "Node",
  metadata: {
    name: "a",
    uid: "u1",
    resourceVersion: "9",
    labels: { tier: "edge", "tcptuning.io/nat": "none" },
    annotations: { big: "x".repeat(5000) },
    managedFields: [{ manager: "kubelet" }],
  },
  spec: { podCIDR: "10.0.0.0/24" },
  status: {
    nodeInfo: {
      kernelVersion: "6.6.54-flatcar",
      operatingSystem: "linux",
      architecture: "amd64",
      osImage: "Flatcar",
      bootID: "b",
      machineID: "m",
      systemUUID: "s",
      containerRuntimeVersion: "c",
      kubeletVersion: "v",
      kubeProxyVersion: "",
    },
    images: Array.from({ length: 50 }, (_, i) => ({ names: [`image-${i}@sha256:${"0".repeat(64)}`], sizeBytes: i })),
    conditions: [{ type: "Ready", status: "True" }],
  },
} as unknown as V1Node;

describe("what the webhook keeps of a Node", () => {
  it("keeps name, uid, resourceVersion, labels, kernel version and OS, and nothing else", () => {
    expect(projectNode(whole)).toEqual({
      apiVersion: "v1",
      kind: "Node",
      metadata: { name: "a", uid: "u1", resourceVersion: "9", labels: { tier: "edge", "tcptuning.io/nat": "none" } },
      status: { nodeInfo: { kernelVersion: "6.6.54-flatcar", operatingSystem: "linux" } },
    });
    expect(JSON.stringify(projectNode(whole)).length).toBeLessThan(JSON.stringify(whole).length / 20);
  });

  it("gives the engine the same node as the whole object", () => {
    const a = new NodeIndex();
    a.upsertNode(whole);
    const b = new NodeIndex();
    b.upsertNode(projectNode(whole));
    expect(b.nodes()).toEqual(a.nodes());
  });

  it("keeps a node state's node name and probe, not its applied keys or conditions", () => {
    const state = {
      apiVersion: "tcptuning.io/v1alpha1",
      kind: "TcpTuningNodeState",
      metadata: { name: "a", resourceVersion: "3" },
      spec: { nodeName: "a", sysctls: [{ name: "k", value: "1", policy: "p" }] },
      status: { probe: { kernelRelease: "6.1.0", probedAt: "t", keys: [] }, keys: [{ name: "k" }], conditions: [] },
    };
    expect(projectNodeState(state)).toEqual({
      apiVersion: "tcptuning.io/v1alpha1",
      kind: "TcpTuningNodeState",
      metadata: { name: "a", resourceVersion: "3" },
      spec: { nodeName: "a" },
      status: { probe: { kernelRelease: "6.1.0", probedAt: "t", keys: [] } },
    });
  });
});
