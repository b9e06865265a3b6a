import "reflect-metadata"; // @peculiar/x509 resolves its parts through tsyringe, which needs a Reflect polyfill: first import.
import * as x509 from "@peculiar/x509";
import { KeyObject, generateKeyPairSync, randomBytes, webcrypto } from "node:crypto";
import { sanDnsName, sanIpAddress } from "./san.js";

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

/** ECDSA P-256 with SHA-256: small, fast, and accepted by every apiserver. */
const ALGORITHM = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;

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

/** A distinguished name as JSON (each attribute a value list), which needs no escaping of commas or quotes. */
function name(dn: DistinguishedName): x509.JsonName {
  return dn.organization ? [{ O: [dn.organization] }, { CN: [dn.commonName] }] : [{ CN: [dn.commonName] }];
}

type PeculiarKey = Parameters<typeof x509.SubjectKeyIdentifierExtension.create>[0];

/** node:crypto's key as the WebCrypto key @peculiar/x509 signs with. */
function cryptoKey(key: KeyObject, usage: "sign" | "verify"): PeculiarKey {
  return key.toCryptoKey(ALGORITHM, true, [usage]) as unknown as PeculiarKey;
}

/** A random positive serial number of 16 bytes, hex (RFC 5280: positive, at most 20 octets). */
function serialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = ((bytes[0] ?? 0) & 0x7f) | 0x01;
  return bytes.toString("hex");
}

/** Writes and signs an X.509 v3 certificate (ECDSA P-256 with SHA-256) with @peculiar/x509 and returns it as PEM. */
export async function createCertificate(req: CertificateRequest, issuer: Issuer): Promise<string> {
  const publicKey = cryptoKey(req.publicKey, "verify");
  const issuerPublicKey = cryptoKey(issuer.publicKey, "verify");
  const extensions: x509.Extension[] = [];
  if (req.isCa) {
    extensions.push(new x509.BasicConstraintsExtension(true, 0, true));
    extensions.push(new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true));
  } else {
    const sans: x509.JsonGeneralName[] = [
      ...(req.dnsNames ?? []).map((d) => ({ type: "dns" as const, value: sanDnsName(d) })),
      ...(req.ipAddresses ?? []).map((ip) => ({ type: "ip" as const, value: sanIpAddress(ip) })),
    ];
    if (sans.length === 0) throw new Error("a serving certificate needs at least one DNS name or IP address");
    extensions.push(new x509.BasicConstraintsExtension(false, undefined, true));
    extensions.push(new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true));
    extensions.push(new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]));
    extensions.push(new x509.SubjectAlternativeNameExtension(sans));
  }
  extensions.push(await x509.SubjectKeyIdentifierExtension.create(publicKey));
  extensions.push(await x509.AuthorityKeyIdentifierExtension.create(issuerPublicKey));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialNumber(),
    subject: name(req.subject),
    issuer: name(issuer.subject),
    notBefore: req.notBefore,
    notAfter: req.notAfter,
    signingAlgorithm: ALGORITHM,
    publicKey,
    signingKey: cryptoKey(issuer.privateKey, "sign"),
    extensions,
  });
  return cert.toString("pem").replace(/\r\n/g, "\n").replace(/\n?$/, "\n");
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
