import type { EnumValue, SysctlSpec } from "./catalog-types.js";
import { atLeast, parseVersionSpec, type KernelVersion, type VersionSpec } from "./kernel-version.js";
import { probedPresence, type PreparedNode } from "./node-facts.js";

const versions = new Map<VersionSpec, KernelVersion>();

/** Catalog versions, parsed once. */
export function version(spec: VersionSpec): KernelVersion {
  let v = versions.get(spec);
  if (!v) {
    v = parseVersionSpec(spec);
    versions.set(spec, v);
  }
  return v;
}

export type Presence =
  | { readonly state: "present"; readonly by: "probe" | "version" }
  | { readonly state: "absent"; readonly by: "probe" | "version" }
  | { readonly state: "unknown"; readonly why: "kernel" | "module" };

const PRESENT_PROBE: Presence = { state: "present", by: "probe" };
const PRESENT_VERSION: Presence = { state: "present", by: "version" };
const ABSENT_PROBE: Presence = { state: "absent", by: "probe" };
const ABSENT_VERSION: Presence = { state: "absent", by: "version" };
const UNKNOWN_KERNEL: Presence = { state: "unknown", why: "kernel" };
const UNKNOWN_MODULE: Presence = { state: "unknown", why: "module" };

/** Does the node's kernel have this key? The agent's probe beats version tables (vendor kernels backport). */
export function keyPresence(node: PreparedNode, spec: SysctlSpec): Presence {
  const probed = probedPresence(node, spec.name);
  if (probed !== undefined) return probed ? PRESENT_PROBE : ABSENT_PROBE;
  if (spec.requiresModule) return UNKNOWN_MODULE;
  const k = node.kernel;
  if (!k) return UNKNOWN_KERNEL;
  if (spec.since && !atLeast(k, version(spec.since))) return ABSENT_VERSION;
  if (spec.removedIn && atLeast(k, version(spec.removedIn))) return ABSENT_VERSION;
  return PRESENT_VERSION;
}

/** The enum value a kernel is too old for, if any. Undefined when the value is fine or the kernel unknown. */
export function valueTooNew(node: PreparedNode, spec: SysctlSpec, value: number): EnumValue | undefined {
  if (spec.grammar.kind !== "enum" || !node.kernel) return undefined;
  const v = spec.grammar.values.find((e) => e.value === value);
  if (!v?.since) return undefined;
  return atLeast(node.kernel, version(v.since)) ? undefined : v;
}

export function kernelAtLeast(node: PreparedNode, spec: VersionSpec): boolean | undefined {
  return node.kernel ? atLeast(node.kernel, version(spec)) : undefined;
}

/** "kernel 4.19.0-27-amd64" or "an unknown kernel". */
export function describeKernel(node: PreparedNode): string {
  return node.kernelText ? `kernel ${node.kernelText}` : "an unknown kernel";
}
