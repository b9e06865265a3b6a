import { X509Certificate } from "node:crypto";
import { describe, expect, it } from "vitest";
import { coversNames, createCa, issueServingCert, issuedBy, keyMatches, renewalTime, splitPemBundle, validityOf } from "../../../src/certs/certificates.js";
import { sanDnsName, sanIpAddress } from "../../../src/certs/san.js";

const now = new Date("2026-12-01T12:00:00.500Z");
const life = { validityMs: 365 * 24 * 3600 * 1000, backdateMs: 5 * 60 * 1000 };
const names = {
  dnsNames: ["tcp-tuning-webhook.tcp-tuning-system.svc", "tcp-tuning-webhook.tcp-tuning-system.svc.cluster.local"],
  ipAddresses: ["127.0.0.1", "::1"],
};

const ca = await createCa(now, life);
const serving = await issueServingCert(ca, names, now, life);

describe("the webhook's CA and serving certificate", () => {
  const caCert = new X509Certificate(ca.certPem);
  const leaf = new X509Certificate(serving.certPem);

  it("makes a CA that node:crypto parses as a CA, self-signed", async () => {
    expect(caCert.ca).toBe(true);
    expect(caCert.checkIssued(caCert)).toBe(true);
    expect(caCert.verify(caCert.publicKey)).toBe(true);
  });

  it("signs a serving certificate that verifies against the CA and only against it", async () => {
    expect(leaf.ca).toBe(false);
    expect(leaf.checkIssued(caCert)).toBe(true);
    expect(leaf.verify(caCert.publicKey)).toBe(true);
    expect(issuedBy(serving.certPem, ca.certPem)).toBe(true);
    const other = await createCa(now, life);
    expect(issuedBy(serving.certPem, other.certPem)).toBe(false);
  });

  it("puts every DNS name and IP address in the subjectAltName", async () => {
    expect(leaf.subjectAltName).toBe(
      "DNS:tcp-tuning-webhook.tcp-tuning-system.svc, DNS:tcp-tuning-webhook.tcp-tuning-system.svc.cluster.local, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1",
    );
    expect(coversNames(serving.certPem, names)).toBe(true);
    expect(coversNames(serving.certPem, { dnsNames: ["evil.example"], ipAddresses: [] })).toBe(false);
    expect(leaf.keyUsage).toEqual(["1.3.6.1.5.5.7.3.1"]);
  });

  it("keeps each private key with its certificate", async () => {
    expect(keyMatches(ca)).toBe(true);
    expect(keyMatches(serving)).toBe(true);
    expect(keyMatches({ certPem: serving.certPem, keyPem: ca.keyPem })).toBe(false);
  });

  it("backdates notBefore, ends at now + validity, and is due for renewal at two thirds of its lifetime", async () => {
    const v = validityOf(serving.certPem);
    expect(v.notBefore.toISOString()).toBe("2026-12-01T11:55:00.000Z");
    expect(v.notAfter.toISOString()).toBe("2027-12-01T12:00:00.000Z");
    const due = renewalTime(serving.certPem).getTime();
    expect(due).toBe(v.notBefore.getTime() + ((v.notAfter.getTime() - v.notBefore.getTime()) * 2) / 3);
  });

  it("splits a bundle of two CAs back into two certificates", async () => {
    const other = await createCa(now, life);
    const parts = splitPemBundle(ca.certPem + other.certPem);
    expect(parts).toEqual([ca.certPem, other.certPem]);
  });
});

describe("subjectAltName names that the hand-written encoder got wrong", () => {
  const ca = createCa(now, life);

  it("writes an IPv4-mapped IPv6 address as the 16-byte IPv6 address, which node:crypto reads back and matches", async () => {
    const pair = await issueServingCert(await ca, { dnsNames: [], ipAddresses: ["::ffff:10.0.0.1"] }, now, life);
    const leaf = new X509Certificate(pair.certPem);
    expect(leaf.subjectAltName).toBe("IP Address:0:0:0:0:0:FFFF:A00:1");
    expect(leaf.checkIP("::ffff:10.0.0.1")).toBe("::ffff:10.0.0.1");
    expect(leaf.checkIP("::ffff:a00:1")).toBe("::ffff:a00:1");
    expect(coversNames(pair.certPem, { dnsNames: [], ipAddresses: ["::ffff:10.0.0.1"] })).toBe(true);
  });

  it("writes a non-ASCII DNS name as its IDNA A-label, which is what a TLS client compares", async () => {
    const pair = await issueServingCert(await ca, { dnsNames: ["webhook.bücher.example", "ÄRGER.example"], ipAddresses: [] }, now, life);
    const leaf = new X509Certificate(pair.certPem);
    expect(leaf.subjectAltName).toBe("DNS:webhook.xn--bcher-kva.example, DNS:xn--rger-koa.example");
    expect(leaf.checkHost("webhook.xn--bcher-kva.example")).toBe("webhook.xn--bcher-kva.example");
    expect(leaf.subject).toBe("CN=webhook.xn--bcher-kva.example");
  });

  it.each([
    ["a..b", /not a valid DNS name/],
    ["-lead.example", /not a valid DNS name/],
    ["under_score.example", /not a valid DNS name/],
    ["x".repeat(64) + ".example", /not a valid DNS name/],
  ])("refuses the DNS name %j with a clear error instead of writing it", async (dns, message) => {
    await expect(issueServingCert(await ca, { dnsNames: [dns], ipAddresses: [] }, now, life)).rejects.toThrow(message);
  });

  it("refuses an IP address that is none", async () => {
    await expect(issueServingCert(await ca, { dnsNames: [], ipAddresses: ["10.0.0.256"] }, now, life)).rejects.toThrow(/not an IP address/);
  });

  it.each([
    ["10.0.0.1", "10.0.0.1"],
    ["::ffff:10.0.0.1", "::ffff:a00:1"],
    ["[fd00::1]", "fd00::1"],
    ["FD00:0:0:0:0:0:0:1", "fd00::1"],
  ])("normalises the IP address %s to %s", (ip, want) => {
    expect(sanIpAddress(ip)).toBe(want);
  });

  it.each([
    ["Webhook.Example", "webhook.example"],
    ["bücher.example", "xn--bcher-kva.example"],
  ])("normalises the DNS name %s to %s", (dns, want) => {
    expect(sanDnsName(dns)).toBe(want);
  });
});
