import {
  coversNames,
  createCa,
  fingerprint,
  fingerprintIfValid,
  issueServingCert,
  issuedBy,
  keyMatches,
  renewalTime,
  validityOf,
  type KeyPair,
  type Lifetime,
  type ServingNames,
} from "./certificates.js";

/**
 * The webhook's certificates as stored in its Secret.
 * `bundle` is what the ValidatingWebhookConfiguration's caBundle must hold: the signing CA, plus the
 * next CA before a switch or the previous one after it.
 */
export interface PkiState {
  readonly ca: KeyPair;
  readonly serving: KeyPair;
  readonly bundle: readonly string[];
  /** A new CA already in the bundle, waiting for the bundle to reach every apiserver before it signs. */
  readonly nextCa?: KeyPair | undefined;
  /** When the current phase began (nextCa added, or the switch that left an old CA in the bundle). */
  readonly phaseSince?: Date | undefined;
}

export interface RotationPolicy {
  readonly names: ServingNames;
  readonly caLife: Lifetime;
  readonly servingLife: Lifetime;
  /** Renew at this fraction of a certificate's lifetime (2/3 by default). */
  readonly renewFraction: number;
  /** How long a new caBundle needs to reach every apiserver before the serving certificate may switch CA. */
  readonly propagationMs: number;
  /** How long after a switch the old CA stays trusted (other replicas still serve the old certificate until they reload). */
  readonly retireAfterMs: number;
}

export type RotationStep = "bootstrap" | "ca-added" | "ca-switched" | "ca-retired" | "serving-renewed" | "phase-restarted" | "none";

export interface RotationPlan {
  readonly step: RotationStep;
  readonly state: PkiState;
  /** When something may next be due (the caller also re-checks periodically). */
  readonly nextCheck: Date;
  readonly why: string;
}

export interface RotationInputs {
  /** Whether the live webhook configuration's caBundle holds every CA of state.bundle. */
  readonly bundleInstalled: boolean;
  /** Start a CA rotation now, whatever the CA's age (an operator's request, a test). */
  readonly forceCaRotation?: boolean;
  /**
   * The CAs the live configuration trusts now. A bootstrap keeps those still valid in the bundle for
   * retireAfterMs: other replicas serve certificates signed by them until they re-read the Secret.
   */
  readonly installedBundle?: readonly string[];
}

function later(a: Date, ms: number): Date {
  return new Date(a.getTime() + ms);
}

function minDate(...dates: Date[]): Date {
  return new Date(Math.min(...dates.map((d) => d.getTime())));
}

/** A serving certificate from `ca` that never outlives it. */
function serve(ca: KeyPair, policy: RotationPolicy, now: Date): Promise<KeyPair> {
  const caEnd = validityOf(ca.certPem).notAfter.getTime();
  const validityMs = Math.min(policy.servingLife.validityMs, caEnd - now.getTime());
  return issueServingCert(ca, policy.names, now, { ...policy.servingLife, validityMs });
}

/** A certificate that parses and has not expired: worth keeping trusted while replicas move off it. */
function stillValidCa(pem: string, now: Date): boolean {
  if (fingerprintIfValid(pem) === undefined) return false;
  return validityOf(pem).notAfter > now;
}

/** Why a stored state cannot be used as it is, or undefined when it can. */
export function stateProblem(state: PkiState, now: Date): string | undefined {
  if (!keyMatches(state.ca)) return "the CA key does not match its certificate";
  if (!keyMatches(state.serving)) return "the serving key does not match its certificate";
  if (state.nextCa && !keyMatches(state.nextCa)) return "the next CA key does not match its certificate";
  if (state.bundle.some((b) => fingerprintIfValid(b) === undefined)) return "the bundle holds a block that is no certificate";
  if (validityOf(state.ca.certPem).notAfter <= now) return "the CA has expired";
  const fp = fingerprint(state.ca.certPem);
  if (!state.bundle.some((b) => fingerprint(b) === fp)) return "the CA is not in the bundle";
  if (!state.bundle.some((b) => issuedBy(state.serving.certPem, b))) return "the serving certificate was signed by no CA of the bundle";
  return undefined;
}

/**
 * One step of certificate management, pure but for the clock it is given and fresh keys (async: signing is WebCrypto). Called again and again, it walks a CA rotation through
 * three safe states, each of which every apiserver and every replica can live with:
 *   1. ca-added:    bundle = [old, new], still serving from old;
 *   2. ca-switched: after propagationMs, and only once the bundle is installed, serve from new;
 *   3. ca-retired:  after retireAfterMs, bundle = [new].
 * A serving certificate alone is renewed from the current CA at renewFraction of its life.
 */
export async function planRotation(state: PkiState | undefined, now: Date, policy: RotationPolicy, inputs: RotationInputs): Promise<RotationPlan> {
  const problem = state ? stateProblem(state, now) : "no certificates yet";
  if (!state || problem) {
    const ca = await createCa(now, policy.caLife);
    const serving = await serve(ca, policy, now);
    const kept = (inputs.installedBundle ?? []).filter((b) => stillValidCa(b, now));
    const fresh: PkiState = kept.length > 0 ? { ca, serving, bundle: [ca.certPem, ...kept], phaseSince: now } : { ca, serving, bundle: [ca.certPem] };
    const renewal = minDate(renewalTime(ca.certPem, policy.renewFraction), renewalTime(serving.certPem, policy.renewFraction));
    return { step: "bootstrap", state: fresh, nextCheck: kept.length > 0 ? minDate(renewal, later(now, policy.retireAfterMs)) : renewal, why: problem ?? "" };
  }
  if (state.phaseSince === undefined && (state.nextCa !== undefined || state.bundle.length > 1)) {
    // Mid-rotation without the phase's start (the Secret's annotation was removed or mangled): taking
    // "now" at every check would push the switch or the retirement back for ever. The phase starts
    // again now, written down, and runs its full wait: later than planned, never earlier.
    const wait = state.nextCa ? policy.propagationMs : policy.retireAfterMs;
    return {
      step: "phase-restarted",
      state: { ...state, phaseSince: now },
      nextCheck: later(now, wait),
      why: "the rotation phase's start time was missing; its wait starts again now",
    };
  }
  const since = state.phaseSince ?? now;
  if (state.nextCa) {
    const due = later(since, policy.propagationMs);
    if (now < due || !inputs.bundleInstalled) {
      return {
        step: "none",
        state,
        nextCheck: now < due ? due : later(now, 1000),
        why: now < due ? "waiting for the new caBundle to propagate" : "waiting for the caBundle to be installed",
      };
    }
    const serving = await serve(state.nextCa, policy, now);
    const switched: PkiState = { ca: state.nextCa, serving, bundle: state.bundle, phaseSince: now };
    return { step: "ca-switched", state: switched, nextCheck: later(now, policy.retireAfterMs), why: "the new CA is trusted everywhere; serving from it" };
  }
  const caFp = fingerprint(state.ca.certPem);
  if (state.bundle.length > 1) {
    const due = later(since, policy.retireAfterMs);
    if (now < due) return { step: "none", state, nextCheck: due, why: "old CA still trusted while replicas reload" };
    const retired: PkiState = { ca: state.ca, serving: state.serving, bundle: state.bundle.filter((b) => fingerprint(b) === caFp) };
    return { step: "ca-retired", state: retired, nextCheck: renewalTime(state.ca.certPem, policy.renewFraction), why: "old CA dropped from the bundle" };
  }
  const caDue = renewalTime(state.ca.certPem, policy.renewFraction);
  if (inputs.forceCaRotation || now >= caDue) {
    const nextCa = await createCa(now, policy.caLife);
    const added: PkiState = { ca: state.ca, serving: state.serving, bundle: [...state.bundle, nextCa.certPem], nextCa, phaseSince: now };
    return {
      step: "ca-added",
      state: added,
      nextCheck: later(now, policy.propagationMs),
      why: inputs.forceCaRotation ? "CA rotation requested" : "the CA is at its renewal time",
    };
  }
  const servingDue = renewalTime(state.serving.certPem, policy.renewFraction);
  const servingWrong = !issuedBy(state.serving.certPem, state.ca.certPem) || !coversNames(state.serving.certPem, policy.names);
  if (servingWrong || now >= servingDue) {
    const serving = await serve(state.ca, policy, now);
    return {
      step: "serving-renewed",
      state: { ...state, serving },
      nextCheck: minDate(caDue, renewalTime(serving.certPem, policy.renewFraction)),
      why: servingWrong ? "the serving certificate does not match the CA or the names" : "the serving certificate is at its renewal time",
    };
  }
  return { step: "none", state, nextCheck: minDate(caDue, servingDue), why: "nothing due" };
}
