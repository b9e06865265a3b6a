import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from "node:crypto";
import { isIP } from "node:net";
import {
  bitStringBytes,
  boolean,
  explicit,
  implicitPrimitive,
  namedBits,
  objectIdentifier,
  octetString,
  readTlv,
  sequence,
  set,
  smallInteger,
  time,
  unsignedInteger,
  utf8String,
} from "./der.js";

/** The OIDs used here (RFC 5280, RFC 5758). */
const OID = {
  commonName: "2.5.4.3",
  organization: "2.5.4.10",
  ecdsaWithSha256: "1.2.840.10045.4.3.2",
  basicConstraints: "2.5.29.19",
  keyUsage: "2.5.29.15",
  extKeyUsage: "2.5.29.37",
  subjectAltName: "2.5.29.17",
  subjectKeyIdentifier: "2.5.29.14",
  authorityKeyIdentifier: "2.5.29.35",
  serverAuth: "1.3.6.1.5.5.7.3.1",
} as const;

/** KeyUsage bits (RFC 5280 4.2.1.3). */
const KEY_USAGE = { digitalSignature: 0, keyCertSign: 5, cRLSign: 6 } as const;

export interface DistinguishedName {
  readonly commonName: string;
  readonly organization?: string;
}

export interface CertificateRequest {
  readonly subject: DistinguishedName;
  readonly publicKey: KeyObject;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** A CA certificate (basicConstraints cA, keyCertSign) or a TLS server certificate (serverAuth, SANs). */
  readonly isCa: boolean;
  readonly dnsNames?: readonly string[];
  readonly ipAddresses?: readonly string[];
}

export interface Issuer {
  readonly subject: DistinguishedName;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
}

function name(dn: DistinguishedName): Buffer {
  const rdns = [set(sequence(objectIdentifier(OID.commonName), utf8String(dn.commonName)))];
  if (dn.organization) rdns.unshift(set(sequence(objectIdentifier(OID.organization), utf8String(dn.organization))));
  return sequence(...rdns);
}

function extension(oid: string, critical: boolean, value: Buffer): Buffer {
  return critical ? sequence(objectIdentifier(oid), boolean(true), octetString(value)) : sequence(objectIdentifier(oid), octetString(value));
}

/** The BIT STRING content of a SubjectPublicKeyInfo: what key identifiers hash (RFC 5280 4.2.1.2, method 1). */
function subjectPublicKeyBits(spki: Buffer): Buffer {
  const outer = readTlv(spki);
  const algorithm = readTlv(outer.content);
  const bits = readTlv(outer.content, algorithm.end);
  return bits.content.subarray(1);
}

export function keyIdentifier(publicKey: KeyObject): Buffer {
  const spki = publicKey.export({ type: "spki", format: "der" });
  return createHash("sha1").update(subjectPublicKeyBits(spki)).digest();
}

function ipBytes(ip: string): Buffer {
  const family = isIP(ip);
  if (family === 4) return Buffer.from(ip.split(".").map(Number));
  if (family === 6) {
    const [head = "", tail = ""] = ip.split("::");
    const h = head ? head.split(":") : [];
    const t = tail ? tail.split(":") : [];
    const groups = ip.includes("::") ? [...h, ...Array<string>(8 - h.length - t.length).fill("0"), ...t] : h;
    return Buffer.concat(groups.map((g) => Buffer.from(g.padStart(4, "0"), "hex")));
  }
  throw new Error(`not an IP address: ${ip}`);
}

/** A random positive serial number of 16 bytes (RFC 5280: positive, at most 20 octets). */
function serialNumber(): Buffer {
  const bytes = randomBytes(16);
  bytes[0] = ((bytes[0] ?? 0) & 0x7f) | 0x01;
  return unsignedInteger(bytes);
}

/** Writes and signs an X.509 v3 certificate (ECDSA P-256 with SHA-256) and returns it as PEM. */
export function createCertificate(req: CertificateRequest, issuer: Issuer): string {
  const sigAlg = sequence(objectIdentifier(OID.ecdsaWithSha256));
  const spki = req.publicKey.export({ type: "spki", format: "der" });
  const extensions: Buffer[] = [];
  if (req.isCa) {
    extensions.push(extension(OID.basicConstraints, true, sequence(boolean(true), smallInteger(0))));
    extensions.push(extension(OID.keyUsage, true, namedBits([KEY_USAGE.digitalSignature, KEY_USAGE.keyCertSign, KEY_USAGE.cRLSign])));
  } else {
    extensions.push(extension(OID.basicConstraints, true, sequence()));
    extensions.push(extension(OID.keyUsage, true, namedBits([KEY_USAGE.digitalSignature])));
    extensions.push(extension(OID.extKeyUsage, false, sequence(objectIdentifier(OID.serverAuth))));
    const sans = [...(req.dnsNames ?? []).map((d) => implicitPrimitive(2, Buffer.from(d, "ascii"))), ...(req.ipAddresses ?? []).map((ip) => implicitPrimitive(7, ipBytes(ip)))];
    if (sans.length === 0) throw new Error("a serving certificate needs at least one DNS name or IP address");
    extensions.push(extension(OID.subjectAltName, false, sequence(...sans)));
  }
  extensions.push(extension(OID.subjectKeyIdentifier, false, octetString(keyIdentifier(req.publicKey))));
  extensions.push(extension(OID.authorityKeyIdentifier, false, sequence(implicitPrimitive(0, keyIdentifier(issuer.publicKey)))));
  const tbs = sequence(
    explicit(0, smallInteger(2)),
    serialNumber(),
    sigAlg,
    name(issuer.subject),
    sequence(time(req.notBefore), time(req.notAfter)),
    name(req.subject),
    spki,
    explicit(3, sequence(...extensions)),
  );
  const signature = sign("sha256", tbs, issuer.privateKey);
  const der = sequence(tbs, sigAlg, bitStringBytes(signature));
  return toPem("CERTIFICATE", der);
}

export function toPem(label: string, der: Buffer): string {
  const b64 = der.toString("base64").replace(/.{1,64}/g, "$&\n");
  return `-----BEGIN ${label}-----\n${b64}-----END ${label}-----\n`;
}

export interface GeneratedKey {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  readonly privateKeyPem: string;
}

export function generateKey(): GeneratedKey {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
  const privateKeyPem = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
  return { privateKey, publicKey, privateKeyPem };
}

