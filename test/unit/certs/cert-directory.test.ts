import { X509Certificate } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { CertDirectory, type DirectoryCertificates } from "../../../src/certs/cert-directory.js";
import { createCa, issueServingCert, type KeyPair } from "../../../src/certs/certificates.js";
import { createLogger } from "../../../src/log.js";
import { atomicWrite } from "../../support/atomic-writer.js";
import { until } from "../../support/eventually.js";

const life = { validityMs: 3600_000, backdateMs: 60_000 };
const names = { dnsNames: ["wh.ns.svc"], ipAddresses: ["127.0.0.1"] };
const logger = createLogger("cert-directory-test", { level: "silent", pretty: false });
const serial = (pem: string): string => new X509Certificate(pem).serialNumber;
const files = (ca: KeyPair, serving: KeyPair): Record<string, string> => ({ "tls.crt": serving.certPem, "tls.key": serving.keyPem, "ca.crt": ca.certPem });

let dir = "";
let watched: CertDirectory | undefined;
afterEach(async () => {
  await watched?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function follow(pollMs = 10_000): Promise<{ seen: DirectoryCertificates[]; first: DirectoryCertificates }> {
  const seen: DirectoryCertificates[] = [];
  watched = new CertDirectory({ dir, logger, pollMs, onChange: (c) => void seen.push(c) });
  const first = await watched.start();
  return { seen, first };
}

describe("CertDirectory", () => {
  it("serves the mounted pair and follows a kubelet-style atomic swap of ..data", async () => {
    dir = await mkdtemp(join(tmpdir(), "tt-certdir-"));
    const ca = await createCa(new Date(), life);
    const one = await issueServingCert(ca, names, new Date(), life);
    await atomicWrite(dir, files(ca, one));
    const { seen, first } = await follow();
    expect(serial(first.serving.certPem)).toBe(serial(one.certPem));
    expect(first.caBundle).toEqual([ca.certPem]);

    const two = await issueServingCert(ca, names, new Date(), life);
    await atomicWrite(dir, files(ca, two));
    await until("the new certificate is picked up", () => seen.length === 2, 30_000);
    expect(serial(seen[1]?.serving.certPem ?? "")).toBe(serial(two.certPem));
    expect(watched?.reloads).toBe(1);
  }, 60_000);

  it("keeps serving the current pair while the files on disk do not belong together, and takes the next good pair", async () => {
    dir = await mkdtemp(join(tmpdir(), "tt-certdir-"));
    const ca = await createCa(new Date(), life);
    const one = await issueServingCert(ca, names, new Date(), life);
    const other = await issueServingCert(ca, names, new Date(), life);
    await atomicWrite(dir, files(ca, one));
    const warnings: string[] = [];
    const seen: DirectoryCertificates[] = [];
    const capture = pino({ level: "warn" }, { write: (line: string) => void warnings.push(line) });
    watched = new CertDirectory({ dir, logger: capture, pollMs: 200, onChange: (c) => void seen.push(c) });
    await watched.start();
    await atomicWrite(dir, { "tls.crt": other.certPem, "tls.key": one.keyPem, "ca.crt": ca.certPem });
    await until("the mismatched pair is read and refused", () => warnings.some((w) => w.includes("is not the private key")), 30_000);
    expect(seen).toHaveLength(1);
    const three = await issueServingCert(ca, names, new Date(), life);
    await atomicWrite(dir, files(ca, three));
    await until("the good pair is picked up", () => seen.length === 2, 30_000);
    expect(serial(seen[1]?.serving.certPem ?? "")).toBe(serial(three.certPem));
  }, 60_000);

  it("picks up plain files rewritten in place by the periodic check", async () => {
    dir = await mkdtemp(join(tmpdir(), "tt-certdir-"));
    const ca = await createCa(new Date(), life);
    const one = await issueServingCert(ca, names, new Date(), life);
    for (const [name, text] of Object.entries(files(ca, one))) await writeFile(join(dir, name), text);
    const { seen } = await follow(100);
    const two = await issueServingCert(ca, names, new Date(), life);
    await writeFile(join(dir, "tls.key"), two.keyPem);
    await writeFile(join(dir, "tls.crt"), two.certPem);
    await until("the rewritten pair is picked up", () => seen.some((c) => serial(c.serving.certPem) === serial(two.certPem)), 30_000);
  }, 60_000);

  it("refuses to start without a key, naming the file", async () => {
    dir = await mkdtemp(join(tmpdir(), "tt-certdir-"));
    const ca = await createCa(new Date(), life);
    await writeFile(join(dir, "tls.crt"), ca.certPem);
    await expect(new CertDirectory({ dir, logger, onChange: () => undefined }).start()).rejects.toThrow(/tls\.key/);
  });

  it("refuses to start when the key is not the certificate's, naming both files", async () => {
    dir = await mkdtemp(join(tmpdir(), "tt-certdir-"));
    const ca = await createCa(new Date(), life);
    const one = await issueServingCert(ca, names, new Date(), life);
    await atomicWrite(dir, { "tls.crt": one.certPem, "tls.key": ca.keyPem });
    await expect(new CertDirectory({ dir, logger, onChange: () => undefined }).start()).rejects.toThrow(/tls\.key is not the private key of .*tls\.crt/);
  });
});
