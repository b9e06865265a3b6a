import { describe, expect, it } from "vitest";
import { parseAgentArgs } from "../../../src/agent/cli.js";
import { parseControllerArgs } from "../../../src/controller/main.js";
import { metricsListenArgs } from "../../../src/metrics/index.js";
import { parseWebhookArgs } from "../../../src/webhook/main.js";

describe("where a component serves its metrics", () => {
  it.each([
    { flag: undefined, env: {}, port: 8080, host: "0.0.0.0", why: "the chart's port on every address by default" },
    { flag: "9090", env: { METRICS_PORT: "1234" }, port: 9090, host: "0.0.0.0", why: "the flag before the environment" },
    { flag: undefined, env: { METRICS_PORT: "0", METRICS_HOST: "127.0.0.1" }, port: 0, host: "127.0.0.1", why: "the environment, 0 for any free port" },
    { flag: "65535", env: {}, port: 65535, host: "0.0.0.0", why: "the highest port" },
  ])("takes $why", ({ flag, env, port, host }) => {
    expect(metricsListenArgs({ "metrics-port": flag }, env)).toEqual({ port, host });
  });

  it("gives the agent, which listens in the node's own network namespace, the chart's agent port 9810 by default and the others 8080", () => {
    const agent = parseAgentArgs([], { NODE_NAME: "n" });
    const webhook = parseWebhookArgs([], {});
    const controller = parseControllerArgs([], {});
    if (webhook === "help" || controller === "help") throw new Error("unexpected help");
    expect([agent.metricsPort, webhook.metricsPort, controller.metricsPort]).toEqual([9810, 8080, 8080]);
  });

  it.each(["http", "-1", "65536", "80.5", ""])("refuses the port %j and says which flag and which range", (text) => {
    expect(() => metricsListenArgs({ "metrics-port": text }, {})).toThrow(/--metrics-port must be an integer from 0 to 65535/);
  });

  it("is the same rule in the agent, the webhook and the controller", () => {
    const env = { NODE_NAME: "n", METRICS_PORT: "9100" };
    const agent = parseAgentArgs([], env);
    const webhook = parseWebhookArgs([], env);
    const controller = parseControllerArgs([], env);
    if (webhook === "help" || controller === "help") throw new Error("unexpected help");
    expect([agent.metricsPort, webhook.metricsPort, controller.metricsPort]).toEqual([9100, 9100, 9100]);
    for (const parse of [
      () => parseAgentArgs(["--metrics-port", "70000"], env),
      () => parseWebhookArgs(["--metrics-port", "70000"], env),
      () => parseControllerArgs(["--metrics-port", "70000"], env),
    ]) {
      expect(parse).toThrow(/--metrics-port must be an integer from 0 to 65535, got "70000"/);
    }
  });
});
