import { describe, expect, it } from "vitest";
import { mayReceiveNatedClients } from "../../../src/rules/placement.js";
import {
  evaluatePolicy,
  nodeInputFromObject,
  nodeObjectSchema,
  parseDefaultPlacement,
  placementFromLabels,
  prepareNode,
  type DefaultPlacement,
} from "../../../src/rules/index.js";
import { probedPresence, probedValue } from "../../../src/rules/node-facts.js";
import { findingsOf, node, policyDoc } from "./support.js";

describe("placement from node labels", () => {
  it.each([
    ["an unlabelled node is unknown, which may be behind NAT", {}, {}, { nat: "unknown", loadBalancer: "unknown", timestamps: "unknown" }, true],
    [
      "nat=none and no balancer is not NATed",
      { "tcptuning.io/nat": "none", "tcptuning.io/load-balancer": "none" },
      {},
      { nat: "none", loadBalancer: "none" },
      false,
    ],
    ["nat=none alone is not NATed (an unknown balancer is not SNAT)", { "tcptuning.io/nat": "none" }, {}, { nat: "none", loadBalancer: "unknown" }, false],
    ["nat=inbound receives NATed clients", { "tcptuning.io/nat": "inbound" }, {}, { nat: "inbound" }, true],
    ["nat=both receives NATed clients", { "tcptuning.io/nat": "both" }, {}, { nat: "both" }, true],
    ["nat=outbound does not receive NATed clients", { "tcptuning.io/nat": "outbound" }, {}, { nat: "outbound" }, false],
    [
      "a SNAT balancer is the same hazard as inbound NAT",
      { "tcptuning.io/nat": "none", "tcptuning.io/load-balancer": "snat" },
      {},
      { loadBalancer: "snat" },
      true,
    ],
    ["a DSR balancer keeps client addresses", { "tcptuning.io/nat": "none", "tcptuning.io/load-balancer": "dsr" }, {}, { loadBalancer: "dsr" }, false],
    ["an undocumented value counts as unknown", { "tcptuning.io/nat": "maybe" }, {}, { nat: "unknown", invalidLabels: [["tcptuning.io/nat", "maybe"]] }, true],
    ["the default placement fills an unlabelled node", {}, { nat: "none" }, { nat: "none" }, false],
    ["a label beats the default placement", { "tcptuning.io/nat": "inbound" }, { nat: "none" }, { nat: "inbound" }, true],
    ["the default does not rescue an undocumented value", { "tcptuning.io/nat": "maybe" }, { nat: "none" }, { nat: "unknown" }, true],
    ["the timestamps path label is read", { "tcptuning.io/tcp-timestamps": "stripped" }, {}, { timestamps: "stripped" }, true],
    [
      "an unlabelled node is not known to face the internet, nor its role, nor its NAT's idle timeout",
      {},
      {},
      { internetFacing: "unknown", connections: "unknown", natIdleTimeoutSeconds: undefined },
      true,
    ],
    [
      "the internet-facing, connections and idle-timeout labels are read",
      { "tcptuning.io/internet-facing": "true", "tcptuning.io/connections": "accepts", "tcptuning.io/nat-idle-timeout-seconds": "350" },
      {},
      { internetFacing: "true", connections: "accepts", natIdleTimeoutSeconds: 350 },
      true,
    ],
    [
      "a cluster-wide idle timeout fills an unlabelled node, and a label beats it",
      { "tcptuning.io/nat-idle-timeout-seconds": "1200" },
      { natIdleTimeoutSeconds: 240 },
      { natIdleTimeoutSeconds: 1200 },
      true,
    ],
    [
      "an idle timeout that is not a positive whole number is an invalid label",
      { "tcptuning.io/nat-idle-timeout-seconds": "4m" },
      { natIdleTimeoutSeconds: 240 },
      { natIdleTimeoutSeconds: undefined, invalidLabels: [["tcptuning.io/nat-idle-timeout-seconds", "4m"]] },
      true,
    ],
    [
      "an undocumented connections value is an invalid label",
      { "tcptuning.io/connections": "server" },
      {},
      { connections: "unknown", invalidLabels: [["tcptuning.io/connections", "server"]] },
      true,
    ],
  ] as const)("%s", (_what, labels, defaults, expected, natHazard) => {
    const p = placementFromLabels(labels, defaults as DefaultPlacement);
    expect(p).toMatchObject(expected);
    expect(mayReceiveNatedClients(p)).toBe(natHazard);
  });
});

describe("parseDefaultPlacement (the --default-placement flag and Helm value)", () => {
  it.each([
    ["", {}],
    ["nat=none", { nat: "none" }],
    ["nat=none, load-balancer=dsr ,tcp-timestamps=preserved", { nat: "none", loadBalancer: "dsr", timestamps: "preserved" }],
    ["internet-facing=false,connections=both,nat-idle-timeout-seconds=350", { internetFacing: "false", connections: "both", natIdleTimeoutSeconds: 350 }],
  ] as const)("reads %j", (text, expected) => {
    expect(parseDefaultPlacement(text)).toEqual(expected);
  });

  it.each([
    ["nat", /expected key=value/],
    ["nat=maybe", /invalid nat "maybe"/],
    ["load-balancer=nat", /invalid load-balancer/],
    ["tcp-timestamps=off", /invalid tcp-timestamps/],
    ["zone=a", /unknown placement key "zone"/],
    ["nat-idle-timeout-seconds=0", /invalid nat-idle-timeout-seconds "0"/],
    ["internet-facing=yes", /invalid internet-facing "yes"/],
    ["connections=server", /invalid connections "server"/],
    ["nat=none=inbound", /expected key=value/],
  ])("refuses %j with a message naming the problem", (text, message) => {
    expect(() => parseDefaultPlacement(text)).toThrow(message);
  });
});

describe("what tcp_tw_recycle=1 tells a node about its placement", () => {
  const recycle = policyDoc([["net.ipv4.tcp_tw_recycle", "1"]]);
  const message = (labels: Record<string, string>, defaults: DefaultPlacement = {}) =>
    findingsOf(evaluatePolicy(recycle, [node("n", "4.9.0-19-amd64", { labels, defaults })]), "TT010").find((f) => f.node === "n")?.message ?? "";

  it.each([
    ["an unlabelled node is told its placement is unknown", {}, {}, /NAT placement is unknown/],
    ["a NAT node is told about NAT", { "tcptuning.io/nat": "inbound" }, {}, /arrive through NAT \(tcptuning\.io\/nat=inbound\)/],
    ["a SNAT-balanced node is told about the balancer", { "tcptuning.io/nat": "none", "tcptuning.io/load-balancer": "snat" }, {}, /SNAT load balancer/],
    ["a node without NAT is still told about per-connection offsets", { "tcptuning.io/nat": "none" }, {}, /offset TCP timestamps per connection/],
    [
      "a node with an undocumented nat label is told that label is why its placement is unknown",
      { "tcptuning.io/nat": "maybe" },
      {},
      /NAT placement is unknown \(tcptuning\.io\/nat="maybe" is not a documented value\)/,
    ],
  ] as const)("%s", (_what, labels, defaults, expected) => {
    expect(message(labels, defaults)).toMatch(expected);
  });

  it("does not call a node unknown when the default placement says nat=none", () => {
    expect(message({}, { nat: "none" })).not.toMatch(/unknown/);
    expect(message({}, { nat: "none" })).toMatch(/per connection/);
  });
});

describe("prepareNode", () => {
  const probe = (kernelRelease: string) => ({ kernelRelease, probedAt: "2026-01-01T00:00:00Z", keys: [] });

  it.each([
    ["an empty probe release falls back to nodeInfo.kernelVersion", "", "4.19.0-27-amd64", "4.19.0-27-amd64", 4, 19],
    ["a blank probe release falls back to nodeInfo.kernelVersion", "  ", "4.19.0-27-amd64", "4.19.0-27-amd64", 4, 19],
    ["an unreadable probe release falls back to nodeInfo.kernelVersion", "garbage", "5.4.0-200-generic", "5.4.0-200-generic", 5, 4],
    ["a readable probe release beats nodeInfo", "6.6.54-flatcar", "5.4.0-200-generic", "6.6.54-flatcar", 6, 6],
  ] as const)("%s", (_what, release, kernelVersion, text, major, minor) => {
    const n = prepareNode({ name: "n", labels: {}, kernelVersion, probe: probe(release) });
    expect(n.kernelText).toBe(text);
    expect(n.kernel).toMatchObject({ major, minor });
  });

  it("keeps the unreadable text when nothing better exists, so TT014 can quote it", () => {
    const n = prepareNode({ name: "n", labels: {}, probe: probe("garbage") });
    expect(n.kernel).toBeUndefined();
    expect(n.kernelText).toBe("garbage");
  });

  it("judges keys by the probe once the empty release fell back (tcp_tw_reuse_delay absent on 5.4)", () => {
    const n = prepareNode({ name: "n", labels: {}, kernelVersion: "5.4.0-200-generic", probe: probe("") });
    const report = evaluatePolicy(policyDoc([["net.ipv4.tcp_tw_reuse_delay", "1000"]]), [n]);
    expect(findingsOf(report, "TT011")).toHaveLength(1);
    expect(findingsOf(report, "TT014")).toEqual([]);
  });

  it.each([
    ["linux from nodeInfo", "linux", {}, true],
    ["windows from nodeInfo", "windows", {}, false],
    ["Windows in capitals", "Windows", {}, false],
    ["windows from the kubernetes.io/os label when nodeInfo says nothing", undefined, { "kubernetes.io/os": "windows" }, false],
    ["linux when nothing says otherwise", undefined, {}, true],
  ] as const)("reads the OS: %s", (_what, operatingSystem, labels, linux) => {
    expect(prepareNode({ name: "n", labels, operatingSystem }).linux).toBe(linux);
  });

  it("reads a Node object as kubectl prints it", () => {
    const obj = nodeObjectSchema.parse({
      apiVersion: "v1",
      kind: "Node",
      metadata: { name: "w1", labels: { "tcptuning.io/nat": "none" } },
      status: { nodeInfo: { kernelVersion: "6.1.100+", operatingSystem: "linux" } },
    });
    const n = prepareNode(nodeInputFromObject(obj));
    expect(n).toMatchObject({ name: "w1", linux: true, kernelText: "6.1.100+", placement: { nat: "none" } });
  });

  it("normalises probed values as the kernel prints them", () => {
    const n = prepareNode({
      name: "n",
      labels: {},
      kernelVersion: "6.6.54",
      probe: { kernelRelease: "6.6.54", probedAt: "x", keys: [{ name: "net.ipv4.ip_local_port_range", present: true, value: "32768\t60999" }] },
    });
    expect(n.probed?.get("net.ipv4.ip_local_port_range")).toBe("32768 60999");
  });

  it("treats a probed key without a value as present with an unknown value, not as the empty string", () => {
    // The agent leaves long values (ip_local_reserved_ports) out of status to stay within API limits.
    const n = prepareNode({
      name: "n",
      labels: {},
      kernelVersion: "6.6.54",
      probe: { kernelRelease: "6.6.54", probedAt: "x", keys: [{ name: "net.ipv4.ip_local_reserved_ports", present: true }] },
    });
    expect(probedPresence(n, "net.ipv4.ip_local_reserved_ports")).toBe(true);
    expect(probedValue(n, "net.ipv4.ip_local_reserved_ports")).toBeUndefined();
  });
});
