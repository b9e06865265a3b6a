import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../../../src/log.js";
import { createCa, issueServingCert } from "../../../src/certs/certificates.js";
import { nodeListSnapshot } from "../../../src/webhook/admission.js";
import { WebhookServer } from "../../../src/webhook/server.js";
import { call } from "./support/https-client.js";
import { linuxNode, policy, policyReview, preparedNodes } from "./support/reviews.js";

const life = { validityMs: 3600_000, backdateMs: 60_000 };
const names = { dnsNames: ["webhook.test.svc"], ipAddresses: ["127.0.0.1"] };
const ca = await createCa(new Date(), life);
let synced = true;
const server = new WebhookServer({
  tls: await issueServingCert(ca, names, new Date(), life),
  snapshot: () => nodeListSnapshot(preparedNodes([linuxNode("old", "4.4.0-210-generic", { "tcptuning.io/nat": "inbound" })]), synced),
  ready: () => synced,
  logger: createLogger("test", { level: "silent", pretty: false }),
  maxBodyBytes: 64 * 1024,
});
let port = 0;

beforeAll(async () => {
  port = (await server.listen(0, "127.0.0.1")).port;
});
afterAll(async () => {
  await server.close();
});

const recycle = JSON.stringify(policyReview(policy("recycle", [{ name: "net.ipv4.tcp_tw_recycle", value: "1" }]), { uid: "uid-1" }));

describe("the webhook server", () => {
  it("answers an AdmissionReview with the verdict and the echoed uid", async () => {
    const reply = await call(port, ca.certPem, { body: recycle });
    expect(reply.status).toBe(200);
    expect(reply.json()).toMatchObject({
      apiVersion: "admission.k8s.io/v1",
      kind: "AdmissionReview",
      response: { uid: "uid-1", allowed: false, status: { code: 403 } },
    });
  });

  it.each([
    ["malformed JSON", { body: "{not json" }, 400, /malformed JSON/],
    [
      "a review without a uid",
      { body: JSON.stringify({ ...policyReview({}), request: { ...policyReview({}).request, uid: undefined } }) },
      400,
      /request\.uid/,
    ],
    ["an empty body", { body: "" }, 400, /malformed JSON/],
    ["a JSON value that is not a review", { body: "42" }, 400, /AdmissionReview/],
    ["a body over the limit", { body: Buffer.alloc(65 * 1024, 0x20) }, 400, /limit/],
    ["a body over the limit sent chunked", { body: Buffer.alloc(65 * 1024, 0x20), headers: { "transfer-encoding": "chunked" } }, 400, /limit/],
    ["a form post", { body: "a=b", headers: { "content-type": "application/x-www-form-urlencoded" } }, 415, /application\/json/],
    ["a GET on the admission path", { method: "GET" }, 405, /POST/],
    ["an unknown path", { path: "/mutate", body: recycle }, 404, /\/validate/],
  ])("refuses %s with a reason, and keeps serving", async (_what, options, status, reason) => {
    const reply = await call(port, ca.certPem, options);
    expect(reply.status).toBe(status);
    expect(reply.body).toMatch(reason);
    const after = await call(port, ca.certPem, { body: recycle });
    expect(after.status).toBe(200);
  });

  it("says it is alive on /healthz and ready on /readyz only once the node cache has synced", async () => {
    expect((await call(port, ca.certPem, { method: "GET", path: "/healthz" })).status).toBe(200);
    synced = false;
    expect((await call(port, ca.certPem, { method: "GET", path: "/readyz" })).status).toBe(503);
    synced = true;
    expect((await call(port, ca.certPem, { method: "GET", path: "/readyz" })).status).toBe(200);
  });

  it("serves a new certificate from a new CA after setTls, without a restart", async () => {
    const next = await createCa(new Date(), life);
    server.setTls(await issueServingCert(next, names, new Date(), life));
    await expect(call(port, ca.certPem, { body: recycle })).rejects.toThrow(/certificate/);
    expect((await call(port, next.certPem, { body: recycle })).status).toBe(200);
    server.setTls(await issueServingCert(ca, names, new Date(), life));
    expect((await call(port, ca.certPem, { body: recycle })).status).toBe(200);
  });

  it("records the latency of every judged request", async () => {
    const s = server.latency.summary();
    expect(s.count).toBeGreaterThan(5);
    expect(s.p50).toBeGreaterThan(0);
    expect(server.outcomes.get("bad-request")).toBeGreaterThanOrEqual(7);
  });
});

describe("a draining webhook server", () => {
  it("says it is not ready while it still answers admissions", async () => {
    const draining = new WebhookServer({
      tls: await issueServingCert(ca, names, new Date(), life),
      snapshot: () => nodeListSnapshot(preparedNodes([linuxNode("old", "4.4.0-210-generic", { "tcptuning.io/nat": "inbound" })]), true),
      ready: () => true,
      logger: createLogger("test", { level: "silent", pretty: false }),
    });
    const p = (await draining.listen(0, "127.0.0.1")).port;
    try {
      expect((await call(p, ca.certPem, { method: "GET", path: "/readyz" })).status).toBe(200);
      draining.drain();
      const ready = await call(p, ca.certPem, { method: "GET", path: "/readyz" });
      expect([ready.status, ready.body]).toEqual([503, "shutting down"]);
      expect((await call(p, ca.certPem, { body: recycle })).status).toBe(200);
    } finally {
      await draining.close();
    }
  });
});
