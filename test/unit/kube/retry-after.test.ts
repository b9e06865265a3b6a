import { describe, expect, it } from "vitest";
import { isIdempotentRequest, parseRetryAfter } from "../../../src/kube/retry-after.js";

describe("which requests are sent again after a 429", () => {
  it.each([
    ["GET", undefined, true],
    ["HEAD", undefined, true],
    ["PATCH", "application/apply-patch+yaml", true],
    ["PATCH", "application/apply-patch+yaml; charset=utf-8", true],
    ["PATCH", "application/merge-patch+json", false],
    ["PATCH", "application/json-patch+json", false],
    ["POST", "application/json", false],
    ["PUT", "application/json", false],
    ["DELETE", undefined, false],
  ] as const)("%s %s: %s", (method, contentType, expected) => {
    expect(isIdempotentRequest(method, contentType)).toBe(expected);
  });
});

describe("how long Retry-After says to wait", () => {
  const now = Date.parse("2026-12-07T06:00:00Z");
  it.each([
    ["1", 1000],
    [" 30 ", 30_000],
    ["0", 0],
    ["Mon, 07 Dec 2026 06:00:05 GMT", 5000],
    ["Mon, 07 Dec 2026 05:59:00 GMT", 0],
    ["soon", undefined],
    ["-1", undefined],
    [undefined, undefined],
  ] as const)("%s -> %s ms", (header, expected) => {
    expect(parseRetryAfter(header, now)).toBe(expected);
  });
});
