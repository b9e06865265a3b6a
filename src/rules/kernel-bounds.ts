import type { KernelBounds, SysctlSpec } from "./catalog-types.js";
import { atLeast, parseVersionSpec, type KernelVersion } from "./kernel-version.js";

/**
 * What the catalog claims the kernel itself does with a value (catalog-types.ts, KernelBounds): the
 * catalog's own grammar is what a policy may ask for; this is what a write would do on a given kernel.
 * The kernel self-check test writes values in a network namespace and compares the kernel's answer
 * with these claims; the unit tests hold the grammar inside these bounds.
 */

const INT_MIN = -2147483648;
const INT_MAX = 2147483647;
const TYPE_RANGE: Record<KernelBounds["type"], readonly [number, number]> = {
  int: [INT_MIN, INT_MAX],
  u8: [0, 255],
  uint: [0, 4294967295],
};

/** The HZ values of the architectures Kubernetes runs on (kernel/Kconfig.hz). */
export const KNOWN_HZ = [100, 250, 300, 1000] as const;

/** The kernel bounds the catalog states for this kernel version, if it states any. */
export function kernelBoundsFor(spec: SysctlSpec, kernel: Pick<KernelVersion, "major" | "minor" | "patch">): KernelBounds | undefined {
  const k = { ...kernel, flavour: "", prerelease: false, raw: "" };
  return spec.kernel.find(
    (b) => (b.since === undefined || atLeast(k, parseVersionSpec(b.since))) && (b.before === undefined || !atLeast(k, parseVersionSpec(b.before))),
  );
}

/** The lowest and highest value one field may have under these bounds, at this HZ. */
export function fieldRange(bounds: KernelBounds, hz: number): { readonly min: number; readonly max: number } {
  const [typeMin, typeMax] = TYPE_RANGE[bounds.type];
  const max = bounds.max === "INT_MAX/HZ" ? Math.floor(INT_MAX / hz) : (bounds.max ?? typeMax);
  return { min: bounds.min ?? typeMin, max };
}

/** What a write of `value` does: taken whole, or refused, with the fields a refused write still stored. */
export type KernelAnswer = { readonly accepted: true } | { readonly accepted: false; readonly storedFields: number };

/**
 * The catalog's claim for one write on a kernel with these bounds. `value` is sysctl text: integers
 * separated by whitespace, or a port list for ip_local_reserved_ports. Cross-key conditions (the port
 * range against ip_unprivileged_port_start) are not part of it: a caller sets those keys up first.
 */
export function kernelAnswer(spec: SysctlSpec, bounds: KernelBounds, value: string, hz: number): KernelAnswer {
  const { min, max } = fieldRange(bounds, hz);
  const fits = (n: number): boolean => Number.isInteger(n) && n >= min && n <= max;
  if (spec.grammar.kind === "portList") {
    const parts = value.replace(/\s+/g, "") === "" ? [] : value.replace(/\s+/g, "").split(",");
    const ok = parts.every((p) => p.split("-").every((x) => /^\d+$/.test(x) && fits(Number(x))));
    return ok ? { accepted: true } : { accepted: false, storedFields: 0 };
  }
  const fields = value.trim().split(/\s+/).map(Number);
  const bad = fields.findIndex((n) => !fits(n));
  if (bad >= 0) return { accepted: false, storedFields: bounds.partialWrites ? bad : 0 };
  if (spec.grammar.kind === "range" && (fields[1] ?? 0) < (fields[0] ?? 0)) return { accepted: false, storedFields: 0 };
  return { accepted: true };
}

/**
 * The values the self-check writes for a key: the grammar's lowest and highest value, and one step
 * beyond each (per field; for vectors also beyond in the last field, which shows partial writes).
 */
export function boundaryValues(spec: SysctlSpec): readonly string[] {
  const g = spec.grammar;
  switch (g.kind) {
    case "int":
      return [`${g.min}`, `${g.max}`, `${g.min - 1}`, `${g.max + 1}`];
    case "enum": {
      const values = g.values.map((v) => v.value);
      const lo = Math.min(...values);
      const hi = Math.max(...values);
      return [`${lo}`, `${hi}`, `${lo - 1}`, `${hi + 1}`];
    }
    case "range":
      return [`${g.min} ${g.max}`, `${g.max} ${g.max}`, `${g.min - 1} ${g.max}`, `${g.min} ${g.max + 1}`];
    case "triple":
      return [`${g.min} ${g.min} ${g.min}`, `${g.max} ${g.max} ${g.max}`, `${g.min - 1} ${g.min} ${g.min}`, `${g.min} ${g.min} ${g.max + 1}`];
    case "portList":
      return [`${g.min}`, `${g.max}`, `${g.min - 1}`, `${g.max + 1}`, ""];
  }
}
