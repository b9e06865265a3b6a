import type { RotationPolicy } from "../../../../src/certs/rotation.js";

/** Seconds as milliseconds, for the rotation tests' clock. */
export const S = 1000;

/** A short rotation policy for tests: a 10-minute CA, a 2-minute serving certificate, renewal at 2/3. */
export const testRotationPolicy: RotationPolicy = {
  names: { dnsNames: ["wh.ns.svc"], ipAddresses: ["127.0.0.1"] },
  caLife: { validityMs: 600 * S, backdateMs: 0 },
  servingLife: { validityMs: 120 * S, backdateMs: 0 },
  renewFraction: 2 / 3,
  propagationMs: 10 * S,
  retireAfterMs: 20 * S,
};

export const t0 = new Date("2026-12-01T00:00:00Z");

/** The moment s seconds after t0. */
export const at = (s: number): Date => new Date(t0.getTime() + s * S);
