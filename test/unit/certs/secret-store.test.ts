import { describe, expect, it } from "vitest";
import { createCa, issueServingCert } from "../../../src/certs/certificates.js";
import { KEYS, PHASE_SINCE_ANNOTATION, decodeState, encodeState } from "../../../src/certs/secret-store.js";
import type { PkiState } from "../../../src/certs/rotation.js";

const life = { validityMs: 3600_000, backdateMs: 0 };
const names = { dnsNames: ["wh.ns.svc"], ipAddresses: [] };

const ca = await createCa(new Date(), life);
const next = await createCa(new Date(), life);
const state: PkiState = {
  ca,
  serving: await issueServingCert(ca, names, new Date(), life),
  bundle: [ca.certPem, next.certPem],
  nextCa: next,
  phaseSince: new Date("2026-12-01T10:00:00Z"),
};

describe("the certificate Secret's encoding", () => {
  it("round-trips a state in the middle of a CA rotation", async () => {
    const secret = { data: encodeState(state), metadata: { annotations: { [PHASE_SINCE_ANNOTATION]: "2026-12-01T10:00:00.000Z" } } };
    expect(decodeState(secret)).toEqual(state);
  });

  it("keeps tls.crt and tls.key, so the Secret is a valid kubernetes.io/tls Secret", async () => {
    const data = encodeState(state);
    expect(Buffer.from(data[KEYS.cert] ?? "", "base64").toString()).toBe(state.serving.certPem);
    expect(Buffer.from(data[KEYS.key] ?? "", "base64").toString()).toBe(state.serving.keyPem);
  });

  it.each([
    ["no data", {}],
    ["no CA key", { data: { ...encodeState(state), [KEYS.caKey]: undefined } }],
  ])("reads %s as no state, so the webhook starts over", (_what, secret) => {
    expect(decodeState(secret as never)).toBeUndefined();
  });
});
