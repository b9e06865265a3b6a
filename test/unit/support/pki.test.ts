import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPki, type Pki } from "../../support/pki.js";

const run = promisify(execFile);
const text = async (cert: string): Promise<string> => (await run("openssl", ["x509", "-in", cert, "-noout", "-text"])).stdout;

describe("the test control plane's certificates", () => {
  let dir: string;
  let pki: Pki;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "tcp-tuning-pki-"));
    pki = await createPki(dir);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it.each(["serving", "admin"] as const)("the %s certificate is signed by the CA", async (which) => {
    const { stdout } = await run("openssl", ["verify", "-CAfile", pki.ca.certFile, pki[which].certFile]);
    expect(stdout.trim()).toBe(`${pki[which].certFile}: OK`);
  });

  it("the serving certificate names 127.0.0.1 and localhost and is for servers only", async () => {
    const t = await text(pki.serving.certFile);
    expect(t).toMatch(/IP Address:127\.0\.0\.1/);
    expect(t).toMatch(/DNS:localhost/);
    expect(t).toMatch(/TLS Web Server Authentication/);
    expect(t).not.toMatch(/TLS Web Client Authentication/);
  });

  it("the admin certificate is a client certificate in system:masters", async () => {
    const t = await text(pki.admin.certFile);
    expect(t).toMatch(/Subject: O\s*=\s*system:masters, CN\s*=\s*admin/);
    expect(t).toMatch(/TLS Web Client Authentication/);
  });

  it("the service-account key is RSA with its public half alongside", async () => {
    const { stdout } = await run("openssl", ["pkey", "-pubin", "-in", pki.serviceAccount.publicKeyFile, "-noout", "-text"]);
    expect(stdout).toMatch(/Public-Key: \(2048 bit\)/);
    expect(stdout).toMatch(/Modulus:/);
  });
});
