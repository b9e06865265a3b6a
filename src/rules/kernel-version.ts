/**
 * Kernel release strings as nodes report them (`5.15.0-1057-aws`, `4.18.0-553.el8_10.x86_64`,
 * `6.1.100+`, `6.12.0-rc3`, `6.6.43-talos`). Semver parsing fails on most of these, so we read
 * major.minor[.patch] ourselves and keep the rest as the flavour.
 */
export interface KernelVersion {
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
  /** Everything after the numeric part: "-1057-aws", "+", "-rc3", "". */
  readonly flavour: string;
  /** A release candidate or other pre-release of major.minor. */
  readonly prerelease: boolean;
  readonly raw: string;
}

const RELEASE = /^\s*v?(\d{1,4})\.(\d{1,4})(?:\.(\d{1,6}))?(.*?)\s*$/;

/** Parses a kernel release; undefined when it does not start with major.minor. */
export function parseKernelVersion(raw: string | undefined | null): KernelVersion | undefined {
  if (typeof raw !== "string") return undefined;
  const m = RELEASE.exec(raw);
  if (!m) return undefined;
  const flavour = m[4] ?? "";
  // "4.9.0-19-amd64" is a flavour; "6.12.0-rc3" (upstream) and "6.12.0-0.rc3.31.fc42" (Fedora) are pre-releases of 6.12.
  const prerelease = /(?:^|[-.])rc\d+/i.test(flavour);
  return {
    major: Number(m[1]),
    minor: Number(m[2]),
    patch: m[3] === undefined ? 0 : Number(m[3]),
    flavour,
    prerelease,
    raw,
  };
}

/** A version written in the catalog: "4.12" or "6.18.17". */
export type VersionSpec = `${number}.${number}` | `${number}.${number}.${number}`;

export function parseVersionSpec(spec: VersionSpec): KernelVersion {
  const v = parseKernelVersion(spec);
  if (!v) throw new Error(`invalid version in catalog: ${spec}`);
  return v;
}

/**
 * Compares a node's kernel with a catalog version. Pre-releases count as the release they lead to
 * for features (6.12.0-rc3 has what 6.12 gained in its merge window).
 */
export function compareKernel(a: Pick<KernelVersion, "major" | "minor" | "patch">, b: Pick<KernelVersion, "major" | "minor" | "patch">): number {
  return a.major - b.major || a.minor - b.minor || a.patch - b.patch;
}

export function atLeast(kernel: KernelVersion, spec: KernelVersion): boolean {
  return compareKernel(kernel, spec) >= 0;
}

export function formatVersion(v: Pick<KernelVersion, "major" | "minor" | "patch">): string {
  return v.patch === 0 ? `${v.major}.${v.minor}` : `${v.major}.${v.minor}.${v.patch}`;
}
