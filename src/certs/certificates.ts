import { X509Certificate, createPrivateKey, createPublicKey } from "node:crypto";
import { sanDnsName, sanIpAddress } from "./san.js";
import { createCertificate, generateKey, type DistinguishedName } from "./x509.js";

/** A certificate and its private key, both PEM. */
export interface KeyPair {
  readonly certPem: string;
  readonly keyPem: string;
}

export interface Lifetime {
  /** How long the certificate is valid from `now`. */
  readonly validityMs: number;
  /** notBefore is set this far before `now`, for clocks a little behind ours. */
  readonly backdateMs: number;
}

export const CA_SUBJECT: DistinguishedName = { commonName: "tcp-tuning-webhook-ca", organization: "tcptuning.io" };

function window(now: Date, life: Lifetime): { notBefore: Date; notAfter: Date } {
  const start = Math.floor((now.getTime() - life.backdateMs) / 1000) * 1000;
  return { notBefore: new Date(start), notAfter: new Date(Math.floor((now.getTime() + life.validityMs) / 1000) * 1000) };
}

/** A self-signed CA whose only job is to sign this webhook's serving certificates. */
export async function createCa(now: Date, life: Lifetime, subject: DistinguishedName = CA_SUBJECT): Promise<KeyPair> {
  const key = generateKey();
  const { notBefore, notAfter } = window(now, life);
  // A unique common name per CA, so that old and new CA in one bundle are told apart in logs and by tools.
  const named: DistinguishedName = { ...subject, commonName: `${subject.commonName}@${Math.floor(now.getTime() / 1000)}` };
  const certPem = await createCertificate(
    { subject: named, publicKey: key.publicKey, notBefore, notAfter, isCa: true },
    { subject: named, privateKey: key.privateKey, publicKey: key.publicKey },
  );
  return { certPem, keyPem: key.privateKeyPem };
}

export interface ServingNames {
  readonly dnsNames: readonly string[];
  readonly ipAddresses: readonly string[];
}

/** A TLS server certificate for the webhook's Service names (and IPs), signed by `ca`. */
export async function issueServingCert(ca: KeyPair, names: ServingNames, now: Date, life: Lifetime): Promise<KeyPair> {
  const caCert = new X509Certificate(ca.certPem);
  const caKey = createPrivateKey(ca.keyPem);
  const key = generateKey();
  const { notBefore, notAfter } = window(now, life);
  // The subject names the first SAN as the certificate carries it (A-label, canonical IP), for logs and tools.
  const first = names.dnsNames[0];
  const ip = names.ipAddresses[0];
  const commonName = first !== undefined ? sanDnsName(first) : ip !== undefined ? sanIpAddress(ip) : "tcp-tuning-webhook";
  const certPem = await createCertificate(
    { subject: { commonName }, publicKey: key.publicKey, notBefore, notAfter, isCa: false, dnsNames: names.dnsNames, ipAddresses: names.ipAddresses },
    { subject: subjectOf(caCert), privateKey: caKey, publicKey: createPublicKey(caKey) },
  );
  return { certPem, keyPem: key.privateKeyPem };
}

/** Reads back the subject we wrote (O and CN only: the only attributes our CAs carry). */
function subjectOf(cert: X509Certificate): DistinguishedName {
  const fields = new Map(cert.subject.split("\n").map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)] as const));
  const commonName = fields.get("CN") ?? "";
  const organization = fields.get("O");
  return organization ? { commonName, organization } : { commonName };
}

export interface Validity {
  readonly notBefore: Date;
  readonly notAfter: Date;
}

export function validityOf(certPem: string): Validity {
  const c = new X509Certificate(certPem);
  return { notBefore: new Date(c.validFrom), notAfter: new Date(c.validTo) };
}

/** When a certificate is due for renewal: at `fraction` of its lifetime (2/3 by default). */
export function renewalTime(certPem: string, fraction = 2 / 3): Date {
  const { notBefore, notAfter } = validityOf(certPem);
  return new Date(notBefore.getTime() + (notAfter.getTime() - notBefore.getTime()) * fraction);
}

/** Whether `leaf` was signed by `ca` (issuer name and signature both checked). */
export function issuedBy(leafPem: string, caPem: string): boolean {
  const leaf = new X509Certificate(leafPem);
  const ca = new X509Certificate(caPem);
  return leaf.checkIssued(ca) && leaf.verify(ca.publicKey);
}

/** Whether the serving certificate covers every name and IP asked for. */
export function coversNames(certPem: string, names: ServingNames): boolean {
  const c = new X509Certificate(certPem);
  return names.dnsNames.every((d) => c.checkHost(d, { wildcards: false }) === d) && names.ipAddresses.every((ip) => c.checkIP(ip) === ip);
}

/** Whether the private key belongs to the certificate. */
export function keyMatches(pair: KeyPair): boolean {
  try {
    return new X509Certificate(pair.certPem).checkPrivateKey(createPrivateKey(pair.keyPem));
  } catch {
    return false;
  }
}

/** The PEM blocks of a bundle, one per certificate. */
export function splitPemBundle(bundle: string): string[] {
  return bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g)?.map((b) => (b.endsWith("\n") ? b : `${b}\n`)) ?? [];
}

export function fingerprint(certPem: string): string {
  return new X509Certificate(certPem).fingerprint256;
}

/** The fingerprint, or undefined for a PEM block that is no certificate (a hand-edited bundle). */
export function fingerprintIfValid(certPem: string): string | undefined {
  try {
    return fingerprint(certPem);
  } catch {
    return undefined;
  }
}
