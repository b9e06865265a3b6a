import { describe, expect, it } from "vitest";
import { fingerprint, issuedBy } from "../../../src/certs/certificates.js";
import { planRotation, type PkiState } from "../../../src/certs/rotation.js";
import { decodeState, encodeState, PHASE_SINCE_ANNOTATION } from "../../../src/certs/secret-store.js";
import { at, S, t0, testRotationPolicy } from "./support/rotation-clock.js";

/**
 * A Secret that loses its rotation-phase annotation mid-rotation (someone edits it, a tool strips
 * annotations): the rotation must still converge, and never sooner than its waits allow (issue 14).
 */

const policy = testRotationPolicy;

/** The state as read back from a Secret whose annotations were dropped. */
function withoutAnnotation(state: PkiState): PkiState {
  const data = encodeState(state);
  const decoded = decodeState({ metadata: { annotations: { other: "x" } }, data });
  if (!decoded) throw new Error("state did not round-trip");
  expect(decoded.phaseSince).toBeUndefined();
  return decoded;
}

describe("a rotation whose phase annotation is lost", () => {
  it.each([
    ["while the new CA waits to propagate", "ca-switched" as const],
    ["while the old CA waits to be retired", "ca-retired" as const],
  ])("%s: restarts that wait from when it was noticed, then converges", async (_when, expectedStep) => {
    let state = (await planRotation(undefined, t0, policy, { bundleInstalled: true })).state;
    state = (await planRotation(state, at(1), policy, { bundleInstalled: true, forceCaRotation: true })).state;
    if (expectedStep === "ca-retired") state = (await planRotation(state, at(12), policy, { bundleInstalled: true })).state;
    const wait = expectedStep === "ca-switched" ? policy.propagationMs / S : policy.retireAfterMs / S;
    const lost = withoutAnnotation(state);
    expect(PHASE_SINCE_ANNOTATION).toBe("tcptuning.io/rotation-phase-since");

    const restarted = await planRotation(lost, at(14), policy, { bundleInstalled: true });
    expect(restarted.step).toBe("phase-restarted");
    expect(restarted.state.phaseSince).toEqual(at(14));
    expect(restarted.nextCheck).toEqual(at(14 + wait));
    expect(restarted.state.serving).toBe(lost.serving);
    expect(restarted.state.bundle).toEqual(lost.bundle);

    // Ticks once a second until the step happens: it does, and not before the full wait.
    let s = 15;
    let current = restarted.state;
    for (; s < 14 + 3 * wait; s++) {
      const plan = await planRotation(current, at(s), policy, { bundleInstalled: true });
      current = plan.state;
      if (plan.step === expectedStep) break;
      expect(plan.step).toBe("none");
    }
    expect(s).toBe(14 + wait);
    if (expectedStep === "ca-switched") {
      expect(issuedBy(current.serving.certPem, lost.nextCa?.certPem ?? "")).toBe(true);
    } else {
      expect(current.bundle.map(fingerprint)).toEqual([fingerprint(current.ca.certPem)]);
    }
  });

  it("changes nothing for a state with no rotation under way", async () => {
    const state = (await planRotation(undefined, t0, policy, { bundleInstalled: true })).state;
    const plan = await planRotation(withoutAnnotation(state), at(5), policy, { bundleInstalled: true });
    expect(plan.step).toBe("none");
  });
});
