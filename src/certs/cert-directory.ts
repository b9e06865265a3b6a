import { watch, type FSWatcher } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "../log.js";
import { fingerprint, keyMatches, splitPemBundle, type KeyPair } from "./certificates.js";

/** File names in a `kubernetes.io/tls` Secret volume, as cert-manager writes them. */
export const CERT_FILES = { cert: "tls.crt", key: "tls.key", ca: "ca.crt" } as const;

/** What the directory holds: the serving pair and, when ca.crt is there, the CAs that sign it. */
export interface DirectoryCertificates {
  readonly serving: KeyPair;
  readonly caBundle: readonly string[] | undefined;
}

/** Reads tls.crt, tls.key and (optional) ca.crt from `dir`; throws with the file at fault when they are unusable. */
export async function readCertDirectory(dir: string): Promise<DirectoryCertificates> {
  const read = (name: string): Promise<string> => readFile(join(dir, name), "utf8");
  const [certPem, keyPem] = await Promise.all([read(CERT_FILES.cert), read(CERT_FILES.key)]);
  const serving = { certPem, keyPem };
  try {
    fingerprint(certPem);
  } catch (err) {
    throw new Error(`${join(dir, CERT_FILES.cert)} holds no readable certificate`, { cause: err });
  }
  if (!keyMatches(serving)) throw new Error(`${join(dir, CERT_FILES.key)} is not the private key of ${join(dir, CERT_FILES.cert)}`);
  const caText = await read(CERT_FILES.ca).catch((err: NodeJS.ErrnoException) => {
    if (err.code === "ENOENT") return undefined;
    throw err;
  });
  const caBundle = caText === undefined ? undefined : splitPemBundle(caText);
  return { serving, caBundle };
}

export interface CertDirectoryOptions {
  readonly dir: string;
  readonly logger: Logger;
  /** Called with the first certificates and again whenever the serving certificate or the CAs change. */
  readonly onChange: (certs: DirectoryCertificates) => void | Promise<void>;
  /** Re-check this often even without a file event (a watch can miss a symlink swap; 10 s by default). */
  readonly pollMs?: number;
}

/** What decides "changed": the serving certificate's and every CA's fingerprint. */
function identity(c: DirectoryCertificates): string {
  return [fingerprint(c.serving.certPem), ...(c.caBundle ?? []).map((pem) => fingerprint(pem))].join(",");
}

/**
 * Serves certificates from a directory and follows it: a Secret volume (cert-manager, or any files
 * mounted by an operator) is updated by the kubelet with an atomic swap of the `..data` symlink, so
 * the directory is watched (fs.watch, which sees the swap as events on the directory) and stat'ed
 * every pollMs as a fallback. A half-written or mismatched pair is logged and the previous one kept.
 */
export class CertDirectory {
  private watcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private current: string | undefined;
  private stamp = "";
  private pending: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  /** How many times the served certificates changed after the first load, for logs and tests. */
  reloads = 0;

  constructor(private readonly options: CertDirectoryOptions) {}

  /** Loads the directory once (throws when it is unusable: nothing to serve) and starts following it. */
  async start(): Promise<DirectoryCertificates> {
    const first = await readCertDirectory(this.options.dir);
    this.current = identity(first);
    this.stamp = await this.statStamp();
    await this.options.onChange(first);
    try {
      this.watcher = watch(this.options.dir, () => this.check());
      this.watcher.on("error", (err) => this.options.logger.warn({ err, dir: this.options.dir }, "watching the certificate directory failed; polling only"));
    } catch (err) {
      this.options.logger.warn({ err, dir: this.options.dir }, "cannot watch the certificate directory; polling only");
    }
    const tick = (): void => {
      void this.statStamp().then((s) => {
        if (s !== this.stamp) this.check();
      });
    };
    this.timer = setInterval(tick, this.options.pollMs ?? 10_000);
    this.timer.unref();
    return first;
  }

  /** Modification times and inodes of the files as resolved through the symlinks: any swap changes them. */
  private async statStamp(): Promise<string> {
    const parts = await Promise.all(
      Object.values(CERT_FILES).map((f) =>
        stat(join(this.options.dir, f)).then(
          (s) => `${s.ino}:${s.mtimeMs}:${s.size}`,
          () => "-",
        ),
      ),
    );
    return parts.join("|");
  }

  /** Re-reads the directory; events arriving during a read cause one more read after it. */
  private check(): void {
    if (this.stopped) return;
    if (this.pending) {
      this.again = true;
      return;
    }
    this.pending = this.reload().finally(() => {
      this.pending = undefined;
      if (this.again && !this.stopped) {
        this.again = false;
        this.check();
      }
    });
  }

  private async reload(): Promise<void> {
    const stamp = await this.statStamp();
    let certs: DirectoryCertificates;
    try {
      certs = await readCertDirectory(this.options.dir);
    } catch (err) {
      // Between the kubelet's writes, or a bad pair: keep serving what we have, the next event or poll retries.
      this.options.logger.warn({ err, dir: this.options.dir }, "certificate directory not usable right now; keeping the current certificate");
      return;
    }
    this.stamp = stamp;
    const id = identity(certs);
    if (id === this.current) return;
    this.current = id;
    this.reloads++;
    await this.options.onChange(certs);
    this.options.logger.info({ dir: this.options.dir, reloads: this.reloads }, "certificates reloaded from the directory");
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.watcher?.close();
    if (this.timer) clearInterval(this.timer);
    await this.pending?.catch(() => undefined);
  }
}
