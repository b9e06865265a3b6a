import { describe, expect, it } from "vitest";
import { planTable, policyNameArg } from "../../../src/controller/plan-command.js";
import { parseControllerArgs } from "../../../src/controller/main.js";

describe("tcp-tuning plan arguments and table", () => {
  it.each([
    ["ttp/web", "web"],
    ["tcptuningpolicy/web", "web"],
    ["tcptuningpolicies.tcptuning.io/web", "web"],
    ["web", "web"],
  ])("reads %s as the policy %s", (arg, name) => {
    expect(policyNameArg(arg)).toBe(name);
  });

  it("refuses another kind", () => {
    expect(() => policyNameArg("ttns/node-1")).toThrow(/not a TcpTuningPolicy/);
  });

  it("prints one aligned row per node and key, with ? for an unknown current value", () => {
    const text = planTable([
      { node: "node-1", sysctl: "net.ipv4.tcp_fin_timeout", current: "60", desired: "30", action: "Change" },
      { node: "n2", sysctl: "net.ipv4.tcp_fin_timeout", desired: "30", action: "Rejected", reason: "kernel too old" },
    ]);
    expect(text.split("\n")).toEqual([
      "NODE    SYSCTL                    CURRENT  DESIRED  ACTION    REASON",
      "node-1  net.ipv4.tcp_fin_timeout  60       30       Change",
      "n2      net.ipv4.tcp_fin_timeout  ?        30       Rejected  kernel too old",
      "",
    ]);
  });
});

describe("tcp-tuning controller flags", () => {
  it("has defaults that elect a leader and resync every 10 minutes", () => {
    const s = parseControllerArgs([], { POD_NAMESPACE: "ops", POD_NAME: "ctl-0" });
    expect(s).toMatchObject({
      leaderElect: true,
      leaseNamespace: "ops",
      leaseName: "tcp-tuning-controller",
      identity: "ctl-0",
      resyncMs: 600_000,
      concurrency: 4,
      apiTimeoutMs: 30_000,
      leaseDurationMs: 15_000,
    });
  });

  it.each([
    [["--leader-elect", "maybe"], /true or false/],
    [["--concurrency", "0"], /concurrency/],
    [["--resync-period", "10"], /not a duration/],
    [["--lease-duration", "5s", "--renew-deadline", "10s"], /renew-deadline must be shorter/],
    [["--log-level", "loud"], /log-level/],
  ])("refuses %j", (argv, message) => {
    expect(() => parseControllerArgs(argv, {})).toThrow(message);
  });
});
