import { describe, expect, it } from "vitest";
import { atLeast, compareKernel, formatVersion, parseKernelVersion, parseVersionSpec } from "../../../src/rules/kernel-version.js";

/** The real strings from docs/kernel-facts.md ("Kernel version strings seen in the wild"), and a few more. */
const REAL: readonly (readonly [raw: string, major: number, minor: number, patch: number, flavour: string, prerelease: boolean])[] = [
  ["5.15.0-1057-aws", 5, 15, 0, "-1057-aws", false],
  ["5.10.225-213.878.amzn2.x86_64", 5, 10, 225, "-213.878.amzn2.x86_64", false],
  ["6.1.109-118.189.amzn2023.x86_64", 6, 1, 109, "-118.189.amzn2023.x86_64", false],
  ["6.1.100+", 6, 1, 100, "+", false],
  ["5.15.0-1071-azure", 5, 15, 0, "-1071-azure", false],
  ["5.14.0-427.37.1.el9_4.x86_64", 5, 14, 0, "-427.37.1.el9_4.x86_64", false],
  ["4.18.0-553.el8_10.x86_64", 4, 18, 0, "-553.el8_10.x86_64", false],
  ["3.10.0-1160.119.1.el7.x86_64", 3, 10, 0, "-1160.119.1.el7.x86_64", false],
  ["4.15.0-213-generic", 4, 15, 0, "-213-generic", false],
  ["4.9.0-19-amd64", 4, 9, 0, "-19-amd64", false],
  ["6.6.43-talos", 6, 6, 43, "-talos", false],
  ["6.6.54-flatcar", 6, 6, 54, "-flatcar", false],
  ["6.12.0-rc3", 6, 12, 0, "-rc3", true],
  ["6.12-rc7", 6, 12, 0, "-rc7", true],
  ["6.12.0-0.rc3.31.fc42.x86_64", 6, 12, 0, "-0.rc3.31.fc42.x86_64", true],
  ["5.15.0-1057-src", 5, 15, 0, "-1057-src", false],
  ["4.11.12-200.fc25.x86_64", 4, 11, 12, "-200.fc25.x86_64", false],
  ["4.4", 4, 4, 0, "", false],
  ["  6.18.44\n", 6, 18, 44, "", false],
];

describe("parseKernelVersion", () => {
  it.each(REAL)("reads %s as %i.%i.%i with the rest kept as the flavour", (raw, major, minor, patch, flavour, prerelease) => {
    expect(parseKernelVersion(raw)).toMatchObject({ major, minor, patch, flavour, prerelease, raw });
  });

  it.each(["", "linux", "5", "5.", "5.x.1", "abc5.15.0", "kernel-5.15.0", "99999.1.0", "-5.15.0", ".5.15"])(
    "refuses %j, which does not start with major.minor",
    (raw) => {
      expect(parseKernelVersion(raw)).toBeUndefined();
    },
  );

  it.each([null, undefined, 5, {}, ["5.15.0"]])("returns undefined for the non-string %j instead of throwing", (raw) => {
    expect(parseKernelVersion(raw as string | undefined)).toBeUndefined();
  });

  it("does not treat a distribution build number as a pre-release (semver would)", () => {
    expect(parseKernelVersion("5.15.0-1057-aws")?.prerelease).toBe(false);
  });
});

describe("comparing kernels with catalog versions", () => {
  const v = (s: string) => {
    const k = parseKernelVersion(s);
    if (!k) throw new Error(s);
    return k;
  };
  it.each([
    ["4.18.0-553.el8_10.x86_64", "4.18", true],
    ["4.17.19", "4.18", false],
    ["4.11.12-200.fc25.x86_64", "4.12", false],
    ["4.12.0", "4.12", true],
    ["6.18.16", "6.18.17", false],
    ["6.18.17-200.fc43", "6.18.17", true],
    ["6.14.0-rc1", "6.14", true],
    ["6.1.100+", "4.10", true],
    ["3.10.0-1160.119.1.el7.x86_64", "4.1", false],
  ] as const)("%s is at least %s: %s", (kernel, spec, expected) => {
    expect(atLeast(v(kernel), parseVersionSpec(spec))).toBe(expected);
  });

  it("counts a pre-release as the release it leads to (features land in the merge window)", () => {
    expect(compareKernel(v("6.12.0-rc3"), v("6.12.0"))).toBe(0);
  });

  it("formats catalog versions without a zero patch", () => {
    expect(formatVersion(v("4.12.0"))).toBe("4.12");
    expect(formatVersion(v("6.18.17"))).toBe("6.18.17");
  });
});
