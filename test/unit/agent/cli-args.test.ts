import { describe, expect, it } from "vitest";
import { parseAgentArgs, parseDuration } from "../../../src/agent/cli.js";

describe("tcp-tuning agent's command line", () => {
  it("takes the node name from NODE_NAME (the downward API) and defaults the rest", () => {
    expect(parseAgentArgs([], { NODE_NAME: "worker-1" })).toEqual({
      nodeName: "worker-1",
      sysctlRoot: "/proc/sys",
      stateFile: "/var/lib/tcp-tuning/agent-state.json",
      driftIntervalMs: 60_000,
      pollIntervalMs: 1000,
      procNet: "/proc/net",
      countersReportIntervalMs: 600_000,
      metricsPort: 9810,
      metricsHost: "0.0.0.0",
      countersIntervalMs: 30_000,
      countersWindowMs: 600_000,
    });
  });

  it("serves metrics on --metrics-port (or METRICS_PORT), and refuses a port that is not one", () => {
    expect(parseAgentArgs(["--metrics-port", "9090", "--metrics-host", "127.0.0.1"], { NODE_NAME: "n" })).toMatchObject({
      metricsPort: 9090,
      metricsHost: "127.0.0.1",
    });
    expect(parseAgentArgs([], { NODE_NAME: "n", METRICS_PORT: "0" }).metricsPort).toBe(0);
    expect(() => parseAgentArgs(["--metrics-port", "http"], { NODE_NAME: "n" })).toThrow();
    expect(() => parseAgentArgs(["--metrics-port", "70000"], { NODE_NAME: "n" })).toThrow();
  });

  it("reads the counters' sampling interval and the window after a change in which each sample is written", () => {
    expect(parseAgentArgs(["--counters-interval", "2s", "--counters-window", "1m"], { NODE_NAME: "n" })).toMatchObject({
      countersIntervalMs: 2000,
      countersWindowMs: 60_000,
    });
  });

  it("lets flags win over the environment", () => {
    const o = parseAgentArgs(
      ["--node-name", "n2", "--sysctl-root", "/tmp/root", "--state-file", "/s.json", "--drift-interval", "500ms", "--kubeconfig", "/k"],
      { NODE_NAME: "n1" },
    );
    expect(o).toMatchObject({ nodeName: "n2", sysctlRoot: "/tmp/root", stateFile: "/s.json", driftIntervalMs: 500, kubeconfig: "/k" });
    expect(parseAgentArgs(["--counters-report-interval", "2m"], { NODE_NAME: "n1" }).countersReportIntervalMs).toBe(120_000);
  });

  it("refuses to start without a node name", () => {
    expect(() => parseAgentArgs([], {})).toThrow(/node name is required/);
  });

  it.each([
    ["60s", 60_000],
    ["500ms", 500],
    ["5m", 300_000],
    ["2", 2000],
  ])("reads the duration %s as %i ms", (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(["", "fast", "-1s", "1h", "5ms"])("refuses the duration %j", (text) => {
    expect(() => parseDuration(text)).toThrow();
  });
});
