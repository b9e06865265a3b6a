import type { Logger } from "../log.js";
import { fingerprint, fingerprintIfValid, type KeyPair } from "./certificates.js";
import { planRotation, type PkiState, type RotationPlan, type RotationPolicy } from "./rotation.js";
import { ConflictError, type StoredState } from "./secret-store.js";

/**
 * Where the caBundle lives: the ValidatingWebhookConfiguration (read() is undefined when it does not
 * exist yet). Without write(), someone else owns the caBundle (`--no-manage-config`): it is only read,
 * to know when a new CA is trusted, and never written.
 */
export interface BundleTarget {
  read(): Promise<readonly string[] | undefined>;
  write?(bundle: readonly string[]): Promise<void>;
}

/** Where the certificates are kept: SecretStore in a cluster. write() throws ConflictError when the state changed since read(). */
export interface CertificateStore {
  read(): Promise<StoredState>;
  write(state: PkiState, resourceVersion: string | undefined): Promise<string | undefined>;
}

export interface TlsManagerOptions {
  readonly store: CertificateStore;
  readonly bundle: BundleTarget;
  readonly policy: RotationPolicy;
  readonly logger: Logger;
  /** Called whenever the serving certificate to use changes (first load included). */
  readonly onServing: (pair: KeyPair) => void;
  /** Re-read the Secret at least this often, so every replica follows another's rotation. */
  readonly resyncMs: number;
  readonly now?: () => Date;
}

/**
 * The installed bundle is read from the configuration, which anyone with access can edit: a block that
 * is no certificate matches nothing (and gets replaced), it does not fail the reconciliation for good.
 */
const sameBundle = (installed: readonly string[], ours: readonly string[]): boolean =>
  installed.length === ours.length && installed.every((x, i) => fingerprintIfValid(x) === fingerprint(ours[i] ?? ""));

/**
 * Keeps the webhook's certificates right: reads the Secret and the caBundle, plans one rotation
 * step, writes the Secret (optimistically), then the caBundle, then swaps the serving certificate.
 * That order is what makes a CA rotation invisible to the apiserver: a CA is trusted before anything
 * is signed by it, and stays trusted until nothing signed by the old one is served.
 */
export class TlsManager {
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private servedFingerprint: string | undefined;
  private pending: Promise<RotationPlan> | undefined;
  private forceCa = false;
  /** Steps taken, for logs and tests. */
  readonly history: { at: Date; step: RotationPlan["step"]; why: string }[] = [];
  state: PkiState | undefined;

  constructor(private readonly options: TlsManagerOptions) {}

  private now(): Date {
    return this.options.now?.() ?? new Date();
  }

  /** One reconciliation, serialised with any other in flight; retries a conflicting Secret write. */
  reconcile(): Promise<RotationPlan> {
    const run = async (): Promise<RotationPlan> => {
      for (let attempt = 1; ; attempt++) {
        try {
          return await this.reconcileOnce();
        } catch (err) {
          if (err instanceof ConflictError && attempt < 5) {
            this.options.logger.info({ attempt }, "certificate Secret changed under us; reading it again");
            continue;
          }
          throw err;
        }
      }
    };
    const next = (this.pending ?? Promise.resolve()).catch(() => undefined).then(run);
    this.pending = next;
    return next;
  }

  /** Starts a CA rotation at the next reconciliation (which is now). */
  rotateCaNow(): Promise<RotationPlan> {
    this.forceCa = true;
    return this.reconcile();
  }

  private async reconcileOnce(): Promise<RotationPlan> {
    const { state, resourceVersion } = await this.options.store.read();
    const installed = await this.options.bundle.read();
    const bundleInstalled =
      state !== undefined &&
      installed !== undefined &&
      state.bundle.every((b) => {
        const fp = fingerprintIfValid(b);
        return fp !== undefined && installed.some((i) => fingerprintIfValid(i) === fp);
      });
    const now = this.now();
    const force = this.forceCa && state !== undefined && !state.nextCa && state.bundle.length === 1;
    const plan = await planRotation(state, now, this.options.policy, { bundleInstalled, forceCaRotation: force, installedBundle: installed ?? [] });
    if (plan.step !== "none") {
      await this.options.store.write(plan.state, resourceVersion);
      if (plan.step === "ca-added") this.forceCa = false;
      this.history.push({ at: now, step: plan.step, why: plan.why });
      this.options.logger.info({ step: plan.step, why: plan.why, bundle: plan.state.bundle.length }, "webhook certificates changed");
    }
    if (this.options.bundle.write && installed !== undefined && !sameBundle(installed, plan.state.bundle)) {
      await this.options.bundle.write(plan.state.bundle);
      this.options.logger.info({ cas: plan.state.bundle.length }, "caBundle updated");
    }
    const fp = fingerprint(plan.state.serving.certPem);
    if (fp !== this.servedFingerprint) {
      this.options.onServing(plan.state.serving);
      this.servedFingerprint = fp;
    }
    this.state = plan.state;
    return plan;
  }

  /** Reconciles now and then whenever something is due, at least every resyncMs, until stop(). */
  start(): void {
    if (this.running) return;
    this.running = true;
    const tick = async (): Promise<void> => {
      let delay = this.options.resyncMs;
      try {
        const plan = await this.reconcile();
        delay = Math.max(50, Math.min(this.options.resyncMs, plan.nextCheck.getTime() - this.now().getTime()));
      } catch (err) {
        this.options.logger.error({ err }, "certificate reconciliation failed; will retry");
      }
      if (this.running) {
        this.timer = setTimeout(() => void tick(), delay);
        this.timer.unref();
      }
    };
    void tick();
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.pending?.catch(() => undefined);
  }
}
