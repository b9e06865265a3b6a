import { describe, expect, it } from "vitest";
import { createLogger } from "../../../src/log.js";
import { fingerprint, issuedBy, type KeyPair } from "../../../src/certs/certificates.js";
import type { PkiState, RotationPolicy } from "../../../src/certs/rotation.js";
import { ConflictError, type StoredState } from "../../../src/certs/secret-store.js";
import { TlsManager, type BundleTarget, type CertificateStore } from "../../../src/certs/tls-manager.js";

const S = 1000;
const policy: RotationPolicy = {
  names: { dnsNames: ["wh.ns.svc"], ipAddresses: [] },
  caLife: { validityMs: 3600 * S, backdateMs: 0 },
  servingLife: { validityMs: 600 * S, backdateMs: 0 },
  renewFraction: 2 / 3,
  propagationMs: 10 * S,
  retireAfterMs: 20 * S,
};

/** A Secret in memory with resourceVersions, and a log of every write in order. */
class MemoryStore implements CertificateStore {
  state: PkiState | undefined;
  version = 0;
  conflicts = 0;
  constructor(private readonly events: string[]) {}
  async read(): Promise<StoredState> {
    return { state: this.state, resourceVersion: this.version === 0 ? undefined : String(this.version) };
  }
  async write(state: PkiState, rv: string | undefined): Promise<string> {
    if (this.conflicts > 0) {
      this.conflicts--;
      this.version++;
      throw new ConflictError("changed since read");
    }
    if ((rv ?? "0") !== String(this.version)) throw new ConflictError("stale resourceVersion");
    this.state = state;
    this.version++;
    this.events.push(`secret:${state.bundle.length}`);
    return String(this.version);
  }
}

class MemoryBundle implements BundleTarget {
  bundle: readonly string[] | undefined;
  constructor(private readonly events: string[]) {}
  async read(): Promise<readonly string[] | undefined> {
    return this.bundle;
  }
  async write(bundle: readonly string[]): Promise<void> {
    this.bundle = bundle;
    this.events.push(`bundle:${bundle.length}`);
  }
}

function setup() {
  const events: string[] = [];
  const store = new MemoryStore(events);
  const bundle = new MemoryBundle(events);
  let now = new Date("2026-12-01T00:00:00Z");
  const served: KeyPair[] = [];
  const manager = new TlsManager({
    store,
    bundle,
    policy,
    logger: createLogger("test", { level: "silent", pretty: false }),
    onServing: (pair) => {
      served.push(pair);
      events.push("serve");
    },
    resyncMs: 1000,
    now: () => now,
  });
  return { events, store, bundle, served, manager, advance: (s: number) => (now = new Date(now.getTime() + s * S)) };
}

// Simulated clock (now), but real key generation and signing: CPU-bound, slow on a loaded machine.
describe("TlsManager", { timeout: 60_000 }, () => {
  it("bootstraps into the Secret and serves, leaving a configuration that does not exist yet alone", async () => {
    const t = setup();
    const plan = await t.manager.reconcile();
    expect(plan.step).toBe("bootstrap");
    expect(t.events).toEqual(["secret:1", "serve"]);
    expect(t.bundle.bundle).toBeUndefined();
  });

  it("walks a requested CA rotation in order: Secret before caBundle before the served certificate, old CA dropped last", async () => {
    const t = setup();
    await t.manager.reconcile();
    t.bundle.bundle = t.store.state?.bundle;
    const firstCa = t.store.state?.ca.certPem ?? "";
    t.events.length = 0;

    expect((await t.manager.rotateCaNow()).step).toBe("ca-added");
    expect(t.events).toEqual(["secret:2", "bundle:2"]);
    t.advance(5);
    expect((await t.manager.reconcile()).step).toBe("none");
    t.advance(6);
    expect((await t.manager.reconcile()).step).toBe("ca-switched");
    expect(t.events.slice(2)).toEqual(["secret:2", "serve"]);
    const newCa = t.store.state?.ca.certPem ?? "";
    expect(issuedBy(t.served.at(-1)?.certPem ?? "", newCa)).toBe(true);
    expect(t.bundle.bundle?.map(fingerprint)).toContain(fingerprint(firstCa));
    t.advance(21);
    expect((await t.manager.reconcile()).step).toBe("ca-retired");
    expect(t.events.slice(4)).toEqual(["secret:1", "bundle:1"]);
    expect(t.bundle.bundle?.map(fingerprint)).toEqual([fingerprint(newCa)]);
  });

  it("does not switch to the new CA while the caBundle write keeps failing", async () => {
    const t = setup();
    await t.manager.reconcile();
    t.bundle.bundle = t.store.state?.bundle;
    t.bundle.write = async () => {
      throw new Error("apiserver unavailable");
    };
    await expect(t.manager.rotateCaNow()).rejects.toThrow(/unavailable/);
    t.advance(60);
    const plan = await t.manager.reconcile().catch(() => undefined);
    expect(plan?.step ?? "none").toBe("none");
    expect(t.served).toHaveLength(1);
  });

  it("repairs a caBundle holding a block that is no certificate, instead of failing every reconciliation", async () => {
    const t = setup();
    await t.manager.reconcile();
    const ours = t.store.state?.bundle ?? [];
    t.bundle.bundle = ["-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n", ...ours];
    const plan = await t.manager.reconcile();
    expect(plan.step).toBe("none");
    expect(t.bundle.bundle?.map(fingerprint)).toEqual(ours.map(fingerprint));
  });

  it("replaces a Secret whose bundle holds a block that is no certificate, Secret before caBundle before serving", async () => {
    const t = setup();
    await t.manager.reconcile();
    const stored = t.store.state;
    if (!stored) throw new Error("no state");
    t.store.state = { ...stored, bundle: [...stored.bundle, "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n"] };
    t.bundle.bundle = stored.bundle;
    t.events.length = 0;
    expect((await t.manager.reconcile()).step).toBe("bootstrap");
    expect(t.events).toEqual(["secret:2", "bundle:2", "serve"]);
  });

  it("re-reads and re-plans when another replica wrote the Secret first", async () => {
    const t = setup();
    t.store.conflicts = 2;
    const plan = await t.manager.reconcile();
    expect(plan.step).toBe("bootstrap");
    expect(t.store.state).toBeDefined();
    expect(t.events).toEqual(["secret:1", "serve"]);
  });

  it("keeps trusting the CA other replicas still serve from when the Secret is deleted, and retires it later", async () => {
    const a = setup();
    await a.manager.reconcile();
    a.bundle.bundle = a.store.state?.bundle;
    const old = a.store.state;
    if (!old) throw new Error("no state");
    // Someone deletes the Secret to force new certificates; replica B still serves the old certificate.
    a.store.state = undefined;
    a.store.version = 0;
    const stored = (): PkiState | undefined => a.store.state;
    expect((await a.manager.reconcile()).step).toBe("bootstrap");
    const trusted = a.bundle.bundle ?? [];
    expect(trusted.some((ca) => issuedBy(old.serving.certPem, ca))).toBe(true);
    expect(trusted.some((ca) => issuedBy(stored()?.serving.certPem ?? "", ca))).toBe(true);
    a.advance(21);
    expect((await a.manager.reconcile()).step).toBe("ca-retired");
    expect(a.bundle.bundle?.map(fingerprint)).toEqual([fingerprint(stored()?.ca.certPem ?? "")]);
  });

  it("follows a rotation another replica made: serves what the Secret holds", async () => {
    const a = setup();
    await a.manager.reconcile();
    const b = new TlsManager({
      store: a.store,
      bundle: a.bundle,
      policy,
      logger: createLogger("test", { level: "silent", pretty: false }),
      onServing: (pair) => a.served.push(pair),
      resyncMs: 1000,
      now: () => new Date("2026-12-01T00:00:01Z"),
    });
    await b.reconcile();
    expect(a.served.map((p) => p.certPem)).toEqual([a.store.state?.serving.certPem, a.store.state?.serving.certPem]);
  });
});
