import { Writable } from "node:stream";
import { ApiException } from "@kubernetes/client-node";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { wrapApiError } from "../../../src/kube/api-error.js";
import { loggerOptions, serializeErr } from "../../../src/log.js";

const SECRET_HEADERS = { "audit-id": "3f2a", authorization: "Bearer very-secret-token", "set-cookie": "session=very-secret" };
const conflict = () =>
  new ApiException(
    409,
    "Unknown API Status Code!",
    JSON.stringify({ kind: "Status", status: "Failure", reason: "Conflict", message: "the object has been modified", code: 409 }),
    SECRET_HEADERS,
  );

/** Log lines as the components write them (the shared options), captured as parsed JSON. */
function capture(): { readonly logger: pino.Logger; readonly lines: () => Record<string, unknown>[] } {
  let text = "";
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      text += chunk.toString();
      done();
    },
  });
  const logger = pino(loggerOptions("test", "debug"), sink);
  return {
    logger,
    lines: () =>
      text
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

describe("log lines", () => {
  it("carry the level as a word and the time as ISO-8601", () => {
    const { logger, lines } = capture();
    logger.warn({ node: "n1" }, "hello");
    const [line] = lines();
    expect(line).toMatchObject({ level: "warn", name: "test", node: "n1", msg: "hello" });
    expect(line?.["time"]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(new Date(String(line?.["time"])).toISOString()).toBe(line?.["time"]);
  });

  it("log an API error's status, reason and message only, never its response headers or body", () => {
    const { logger, lines } = capture();
    logger.error({ err: conflict() }, "write failed");
    const [line] = lines();
    expect(line?.["err"]).toEqual({ type: "ApiException", status: 409, reason: "Conflict", message: "the object has been modified" });
    const raw = JSON.stringify(line);
    expect(raw).not.toContain("very-secret");
    expect(raw).not.toContain("audit-id");
    expect(raw).not.toContain("HTTP-Code");
  });

  it("log a wrapped API error with its context and the cause reduced the same way", () => {
    const { logger, lines } = capture();
    logger.error({ err: wrapApiError("patching TcpTuningNodeState n1", conflict()) }, "write failed");
    const err = lines()[0]?.["err"] as Record<string, unknown>;
    expect(err["message"]).toBe("patching TcpTuningNodeState n1: 409 Conflict: the object has been modified");
    expect(err["cause"]).toEqual({ type: "ApiException", status: 409, reason: "Conflict", message: "the object has been modified" });
    expect(JSON.stringify(err)).not.toContain("very-secret");
  });

  it("log other errors with type, message, stack and their own primitive fields (errno codes)", () => {
    const err = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:6443"), { code: "ECONNREFUSED", syscall: "connect", socket: { huge: true } });
    expect(serializeErr(err)).toMatchObject({
      type: "Error",
      message: "connect ECONNREFUSED 127.0.0.1:6443",
      code: "ECONNREFUSED",
      syscall: "connect",
      stack: expect.stringContaining("Error: connect ECONNREFUSED"),
    });
    expect(serializeErr(err)).not.toHaveProperty("socket");
  });

  it.each([
    ["a string", "boom", { message: "boom" }],
    ["a plain object with a message", { message: "TLS alert" }, { message: "TLS alert" }],
    ["a watch error object with a status code", { statusCode: 410, message: "Gone" }, { message: "Gone", status: 410 }],
  ])("log %s under err as a message", (_what, value, want) => {
    expect(serializeErr(value)).toEqual(want);
  });
});
