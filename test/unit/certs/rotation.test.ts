import { describe, expect, it } from "vitest";
import { fingerprint, issuedBy, validityOf } from "../../../src/certs/certificates.js";
import { planRotation, type PkiState, type RotationStep } from "../../../src/certs/rotation.js";
import { at, t0, testRotationPolicy } from "./support/rotation-clock.js";

const policy = testRotationPolicy;

/**
 * Simulates an apiserver whose view of the caBundle lags the configuration by `lagS` seconds, ticks
 * once a second, and checks at each tick that the certificate being served verifies against a CA the
 * apiserver trusts at that moment.
 */
async function simulate(seconds: number, lagS: number, force: (s: number) => boolean = () => false) {
  let state: PkiState | undefined;
  const installs: { at: number; bundle: readonly string[] }[] = [];
  const steps: { s: number; step: RotationStep }[] = [];
  let failures = 0;
  for (let s = 0; s <= seconds; s++) {
    const trusted = (() => {
      const visible = installs.filter((i) => i.at + lagS <= s);
      return visible.at(-1)?.bundle ?? [];
    })();
    const configured = installs.at(-1)?.bundle ?? [];
    const bundleInstalled = state !== undefined && state.bundle.every((b) => configured.includes(b));
    const plan = await planRotation(state, at(s), policy, { bundleInstalled, forceCaRotation: force(s) });
    if (plan.step !== "none") steps.push({ s, step: plan.step });
    state = plan.state;
    if (configured.join() !== state.bundle.join()) installs.push({ at: s, bundle: state.bundle });
    if (s > lagS + 1) {
      const ok = trusted.some((ca) => issuedBy(state?.serving.certPem ?? "", ca)) && validityOf(state.serving.certPem).notAfter > at(s);
      if (!ok) failures++;
    }
  }
  return { steps, failures, state };
}

describe("planRotation", () => {
  it("bootstraps a CA and a serving certificate signed by it, with the CA alone in the bundle", async () => {
    const plan = await planRotation(undefined, t0, policy, { bundleInstalled: false });
    expect(plan.step).toBe("bootstrap");
    expect(plan.state.bundle).toEqual([plan.state.ca.certPem]);
    expect(issuedBy(plan.state.serving.certPem, plan.state.ca.certPem)).toBe(true);
  });

  it("renews the serving certificate at two thirds of its life, from the same CA", async () => {
    const first = (await planRotation(undefined, t0, policy, { bundleInstalled: true })).state;
    expect((await planRotation(first, at(79), policy, { bundleInstalled: true })).step).toBe("none");
    const renewed = await planRotation(first, at(80), policy, { bundleInstalled: true });
    expect(renewed.step).toBe("serving-renewed");
    expect(renewed.state.ca).toBe(first.ca);
    expect(renewed.state.serving.certPem).not.toBe(first.serving.certPem);
  });

  it("rotates the CA in three steps: add to the bundle, switch after propagation, retire the old one", async () => {
    const first = (await planRotation(undefined, t0, policy, { bundleInstalled: true })).state;
    const added = await planRotation(first, at(1), policy, { bundleInstalled: true, forceCaRotation: true });
    expect(added.step).toBe("ca-added");
    expect(added.state.bundle).toHaveLength(2);
    expect(added.state.serving).toBe(first.serving);
    expect((await planRotation(added.state, at(5), policy, { bundleInstalled: true })).step).toBe("none");
    expect((await planRotation(added.state, at(12), policy, { bundleInstalled: false })).why).toMatch(/installed/);
    const switched = await planRotation(added.state, at(12), policy, { bundleInstalled: true });
    expect(switched.step).toBe("ca-switched");
    expect(switched.state.bundle).toHaveLength(2);
    expect(issuedBy(switched.state.serving.certPem, added.state.nextCa?.certPem ?? "")).toBe(true);
    expect((await planRotation(switched.state, at(20), policy, { bundleInstalled: true })).step).toBe("none");
    const retired = await planRotation(switched.state, at(33), policy, { bundleInstalled: true });
    expect(retired.step).toBe("ca-retired");
    expect(retired.state.bundle.map(fingerprint)).toEqual([fingerprint(switched.state.ca.certPem)]);
  });

  it("starts over from a stored state that does not hold together", async () => {
    const a = (await planRotation(undefined, t0, policy, { bundleInstalled: true })).state;
    const b = (await planRotation(undefined, t0, policy, { bundleInstalled: true })).state;
    const broken: PkiState = { ...a, serving: b.serving };
    const plan = await planRotation(broken, at(1), policy, { bundleInstalled: true });
    expect(plan.step).toBe("bootstrap");
    expect(plan.why).toMatch(/signed by no CA/);
  });

  it("starts over from a stored bundle holding a block that is no certificate, instead of throwing", async () => {
    const a = (await planRotation(undefined, t0, policy, { bundleInstalled: true })).state;
    const broken: PkiState = { ...a, bundle: [...a.bundle, "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n"] };
    const plan = await planRotation(broken, at(1), policy, { bundleInstalled: true });
    expect(plan.step).toBe("bootstrap");
    expect(plan.why).toMatch(/no certificate/);
  });

  it("over three CA lifetimes, with an apiserver that sees bundle changes 8 s late, never serves a certificate it does not trust", async () => {
    const run = await simulate(1800, 8);
    expect(run.failures).toBe(0);
    const kinds = run.steps.map((x) => x.step);
    expect(kinds.filter((k) => k === "ca-added").length).toBeGreaterThanOrEqual(4);
    expect(kinds.filter((k) => k === "ca-switched").length).toBe(kinds.filter((k) => k === "ca-added").length);
    expect(kinds).toContain("serving-renewed");
  }, 120_000); // 1800 ticks, each parsing and checking certificates: a budget that holds at load average 10

  it("shows that switching without waiting for propagation would fail requests (the check is not vacuous)", async () => {
    const hasty = { ...policy, propagationMs: 0 };
    let state = (await planRotation(undefined, t0, hasty, { bundleInstalled: true })).state;
    state = (await planRotation(state, at(1), hasty, { bundleInstalled: true, forceCaRotation: true })).state;
    state = (await planRotation(state, at(1), hasty, { bundleInstalled: true })).state;
    // An apiserver still on the old bundle [old CA] cannot verify the new serving certificate.
    const oldBundle = state.bundle.slice(0, 1);
    expect(oldBundle.some((ca) => issuedBy(state.serving.certPem, ca))).toBe(false);
  });
});
