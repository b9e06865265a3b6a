import { X509Certificate } from "node:crypto";
import { describe, expect, it } from "vitest";
import { coversNames, createCa, issueServingCert, issuedBy, keyMatches, renewalTime, splitPemBundle, validityOf } from "../../../src/webhook/certs.js";
import { namedBits, objectIdentifier, time, unsignedInteger } from "../../../src/webhook/pki/der.js";

const now = new Date("2026-12-01T12:00:00.500Z");
const life = { validityMs: 365 * 24 * 3600 * 1000, backdateMs: 5 * 60 * 1000 };
const names = { dnsNames: ["tcp-tuning-webhook.tcp-tuning-system.svc", "tcp-tuning-webhook.tcp-tuning-system.svc.cluster.local"], ipAddresses: ["127.0.0.1", "::1"] };

describe("DER writer", () => {
  it.each([
    ["1.2.840.10045.4.3.2", "06082a8648ce3d040302"],
    ["2.5.29.17", "0603551d11"],
    ["1.3.6.1.5.5.7.3.1", "06082b06010505070301"],
  ])("encodes OID %s as %s", (oid, hex) => {
    expect(objectIdentifier(oid).toString("hex")).toBe(hex);
  });

  it.each([
    [[0x00, 0x01], "020101"],
    [[0x80], "02020080"],
    [[0x00, 0x00], "020100"],
  ])("encodes unsigned integer %j minimally as %s", (bytes, hex) => {
    expect(unsignedInteger(Buffer.from(bytes)).toString("hex")).toBe(hex);
  });

  it("encodes key usage bits with trailing zero bits dropped", () => {
    expect(namedBits([0]).toString("hex")).toBe("03020780");
    expect(namedBits([0, 5, 6]).toString("hex")).toBe("03020186");
  });

  it("writes UTCTime before 2050 and GeneralizedTime after", () => {
    expect(time(new Date("2026-12-01T12:00:00Z")).toString("latin1").slice(2)).toBe("261201120000Z");
    expect(time(new Date("2051-01-02T03:04:05Z"))[0]).toBe(0x18);
  });
});

describe("the webhook's CA and serving certificate", () => {
  const ca = createCa(now, life);
  const serving = issueServingCert(ca, names, now, life);
  const caCert = new X509Certificate(ca.certPem);
  const leaf = new X509Certificate(serving.certPem);

  it("makes a CA that node:crypto parses as a CA, self-signed", () => {
    expect(caCert.ca).toBe(true);
    expect(caCert.checkIssued(caCert)).toBe(true);
    expect(caCert.verify(caCert.publicKey)).toBe(true);
  });

  it("signs a serving certificate that verifies against the CA and only against it", () => {
    expect(leaf.ca).toBe(false);
    expect(leaf.checkIssued(caCert)).toBe(true);
    expect(leaf.verify(caCert.publicKey)).toBe(true);
    expect(issuedBy(serving.certPem, ca.certPem)).toBe(true);
    const other = createCa(now, life);
    expect(issuedBy(serving.certPem, other.certPem)).toBe(false);
  });

  it("puts every DNS name and IP address in the subjectAltName", () => {
    expect(leaf.subjectAltName).toBe(
      "DNS:tcp-tuning-webhook.tcp-tuning-system.svc, DNS:tcp-tuning-webhook.tcp-tuning-system.svc.cluster.local, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1",
    );
    expect(coversNames(serving.certPem, names)).toBe(true);
    expect(coversNames(serving.certPem, { dnsNames: ["evil.example"], ipAddresses: [] })).toBe(false);
    expect(leaf.keyUsage).toEqual(["1.3.6.1.5.5.7.3.1"]);
  });

  it("keeps each private key with its certificate", () => {
    expect(keyMatches(ca)).toBe(true);
    expect(keyMatches(serving)).toBe(true);
    expect(keyMatches({ certPem: serving.certPem, keyPem: ca.keyPem })).toBe(false);
  });

  it("backdates notBefore, ends at now + validity, and is due for renewal at two thirds of its lifetime", () => {
    const v = validityOf(serving.certPem);
    expect(v.notBefore.toISOString()).toBe("2026-12-01T11:55:00.000Z");
    expect(v.notAfter.toISOString()).toBe("2027-12-01T12:00:00.000Z");
    const due = renewalTime(serving.certPem).getTime();
    expect(due).toBe(v.notBefore.getTime() + ((v.notAfter.getTime() - v.notBefore.getTime()) * 2) / 3);
  });

  it("splits a bundle of two CAs back into two certificates", () => {
    const other = createCa(now, life);
    const parts = splitPemBundle(ca.certPem + other.certPem);
    expect(parts).toEqual([ca.certPem, other.certPem]);
  });
});
