import { ApiException } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { apiErrorInfo, describeApiError, isAlreadyExists, isConflict, isNotFound } from "../../../src/kube/api-error.js";
import { jsonPointer } from "../../../src/kube/patch.js";

const status = (code: number, reason: string, message: string) =>
  JSON.stringify({ kind: "Status", apiVersion: "v1", status: "Failure", code, reason, message });

describe("apiErrorInfo", () => {
  it.each([
    [
      "a 409 Conflict",
      new ApiException(409, "Unknown API Status Code!", status(409, "Conflict", "the object has been modified"), {}),
      { status: 409, reason: "Conflict", message: "the object has been modified" },
    ],
    [
      "a 409 AlreadyExists",
      new ApiException(409, "x", status(409, "AlreadyExists", 'secrets "a" already exists'), {}),
      { status: 409, reason: "AlreadyExists", message: 'secrets "a" already exists' },
    ],
    [
      "a 404 with an object body",
      new ApiException(404, "x", { reason: "NotFound", message: "not found" }, {}),
      { status: 404, reason: "NotFound", message: "not found" },
    ],
    ["a 401 without a body", new ApiException(401, "Unauthorized", undefined, {}), { status: 401, reason: undefined, message: "HTTP 401" }],
    ["a watch error", Object.assign(new Error("Gone"), { statusCode: 410 }), { status: 410, reason: undefined, message: "Gone" }],
    [
      "a network error",
      Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), { code: "ECONNREFUSED" }),
      { status: undefined, reason: "ECONNREFUSED", message: "connect ECONNREFUSED 127.0.0.1:1" },
    ],
  ])("reads %s", (_what, err, info) => {
    expect(apiErrorInfo(err)).toEqual(info);
  });

  it("tells conflicts, existing objects and missing ones apart", () => {
    const conflict = new ApiException(409, "x", status(409, "Conflict", "modified"), {});
    const exists = new ApiException(409, "x", status(409, "AlreadyExists", "exists"), {});
    expect([isConflict(conflict), isAlreadyExists(conflict)]).toEqual([true, false]);
    expect([isConflict(exists), isAlreadyExists(exists)]).toEqual([false, true]);
    expect(isNotFound(new ApiException(404, "x", undefined, {}))).toBe(true);
  });

  it("describes an error in one line without headers", () => {
    const err = new ApiException(409, "Unknown API Status Code!", status(409, "Conflict", "the object has been modified"), { "audit-id": "abc" });
    expect(describeApiError(err)).toBe("409 Conflict: the object has been modified");
  });
});

describe("jsonPointer", () => {
  it("escapes ~ and / in segments", () => {
    expect(jsonPointer("metadata", "annotations", "tcptuning.io/x~y")).toBe("/metadata/annotations/tcptuning.io~1x~0y");
    expect(jsonPointer("webhooks", 0, "clientConfig")).toBe("/webhooks/0/clientConfig");
  });
});
