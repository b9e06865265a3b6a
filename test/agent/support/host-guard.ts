import { expect, inject } from "vitest";
import { diffSysctls, snapshotHostSysctls } from "./host-sysctls.global.js";

/** Asserts that the host network namespace's sysctls are as they were before the agent tests. */
export function expectHostSysctlsUntouched(): void {
  const before = new Map(Object.entries(inject("hostSysctlsBefore")));
  expect(before.size).toBeGreaterThan(100);
  expect(diffSysctls(before, snapshotHostSysctls())).toEqual([]);
}
