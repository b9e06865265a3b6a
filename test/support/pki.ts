import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** A PEM key pair on disk. */
export interface KeyPair {
  readonly certFile: string;
  readonly keyFile: string;
}

export interface Pki {
  readonly ca: KeyPair;
  /** Serving cert for 127.0.0.1 and localhost, signed by the CA. */
  readonly serving: KeyPair;
  /** Client cert CN=admin, O=system:masters, signed by the CA. */
  readonly admin: KeyPair;
  /** RSA key that signs and verifies service-account tokens. */
  readonly serviceAccount: { readonly keyFile: string; readonly publicKeyFile: string };
}

export interface CertRequest {
  readonly commonName: string;
  readonly organizations?: readonly string[];
  /** "IP:127.0.0.1", "DNS:localhost", ... */
  readonly subjectAltNames?: readonly string[];
  readonly usage: "server" | "client";
}

async function openssl(args: readonly string[]): Promise<void> {
  try {
    await run("openssl", [...args]);
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr ?? "";
    throw new Error(`openssl ${args[0]} failed: ${stderr.trim() || (err as Error).message}`, { cause: err });
  }
}

/** A self-signed CA (EC P-256, one day) in dir/<name>.crt and .key. */
export async function createCa(dir: string, name = "ca", commonName = "tcp-tuning-test-ca"): Promise<KeyPair> {
  const pair = { certFile: join(dir, `${name}.crt`), keyFile: join(dir, `${name}.key`) };
  await openssl(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", pair.keyFile]);
  await openssl([
    "req",
    "-x509",
    "-new",
    "-key",
    pair.keyFile,
    "-out",
    pair.certFile,
    "-days",
    "2",
    "-subj",
    `/CN=${commonName}`,
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign,digitalSignature",
  ]);
  return pair;
}

/** A leaf certificate signed by `ca`, in dir/<name>.crt and .key. */
export async function issueCert(dir: string, name: string, ca: KeyPair, request: CertRequest): Promise<KeyPair> {
  const pair = { certFile: join(dir, `${name}.crt`), keyFile: join(dir, `${name}.key`) };
  const csr = join(dir, `${name}.csr`);
  const ext = join(dir, `${name}.ext`);
  const subject = [...(request.organizations ?? []).map((o) => `/O=${o}`), `/CN=${request.commonName}`].join("");
  const extensions = [
    "basicConstraints=critical,CA:FALSE",
    "keyUsage=critical,digitalSignature,keyEncipherment",
    `extendedKeyUsage=${request.usage === "server" ? "serverAuth" : "clientAuth"}`,
    ...(request.subjectAltNames?.length ? [`subjectAltName=${request.subjectAltNames.join(",")}`] : []),
  ];
  await writeFile(ext, extensions.join("\n") + "\n");
  await openssl(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", pair.keyFile]);
  await openssl(["req", "-new", "-key", pair.keyFile, "-out", csr, "-subj", subject]);
  await openssl([
    "x509",
    "-req",
    "-in",
    csr,
    "-CA",
    ca.certFile,
    "-CAkey",
    ca.keyFile,
    "-set_serial",
    `0x${randomBytes(16).toString("hex")}`,
    "-out",
    pair.certFile,
    "-days",
    "2",
    "-extfile",
    ext,
  ]);
  return pair;
}

/** Everything a local kube-apiserver needs: CA, serving cert, admin client cert, SA key. */
export async function createPki(dir: string): Promise<Pki> {
  const ca = await createCa(dir);
  const [serving, admin] = await Promise.all([
    issueCert(dir, "serving", ca, {
      commonName: "kube-apiserver",
      subjectAltNames: ["IP:127.0.0.1", "DNS:localhost", "DNS:kubernetes", "DNS:kubernetes.default.svc"],
      usage: "server",
    }),
    issueCert(dir, "admin", ca, { commonName: "admin", organizations: ["system:masters"], usage: "client" }),
  ]);
  const serviceAccount = { keyFile: join(dir, "sa.key"), publicKeyFile: join(dir, "sa.pub") };
  await openssl(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", serviceAccount.keyFile]);
  await openssl(["pkey", "-in", serviceAccount.keyFile, "-pubout", "-out", serviceAccount.publicKeyFile]);
  return { ca, serving, admin, serviceAccount };
}

/** A PEM file's contents, base64-encoded as kubeconfig *-data fields want. */
export async function base64File(path: string): Promise<string> {
  return (await readFile(path)).toString("base64");
}
