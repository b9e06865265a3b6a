import { PAUSED_ANNOTATION, RESUME_ANNOTATION, type RolloutStatus } from "../../api/v1alpha1/rollout-status.js";
import type { ConditionInput } from "../../kube/conditions.js";

/**
 * What a rollout's status says in one line (the Progressing condition's message, the CLI's
 * headline), and the conditions it implies. Pure.
 */

function verb(s: RolloutStatus): string {
  return s.action === "Remove" ? "restored" : "applied";
}

/** Seconds of soak left at `now`, or undefined when the current wave is not soaking. */
export function soakRemaining(s: RolloutStatus, now: Date): number | undefined {
  if (s.soakStartedAt === undefined || s.waveCompletedAt !== undefined) return undefined;
  const end = Date.parse(s.soakStartedAt) + (s.soakSeconds ?? 0) * 1000;
  return Math.max(0, Math.ceil((end - now.getTime()) / 1000));
}

export function isComplete(s: RolloutStatus): boolean {
  return s.completedAt !== undefined && !s.halted;
}

/** e.g. `wave 3/7: 12/40 nodes applied, soaking 45 s`. */
export function progressMessage(s: RolloutStatus, now: Date): string {
  const n = s.nodes;
  const applied = `${n.done}/${n.total} nodes ${verb(s)}${n.failed > 0 ? `, ${n.failed} failed` : ""}`;
  if (s.halted)
    return `halted after wave ${s.halted.wave}/${s.waves}: ${applied}${s.halted.rolledBack ? ", the wave rolled back" : ""}; set ${RESUME_ANNOTATION} to a new value or change the spec to resume`;
  if (isComplete(s)) return `${s.action === "Remove" ? "removal" : "rollout"} complete in ${s.wave} wave(s): ${applied}`;
  if (s.wave === 0 || s.waveCompletedAt !== undefined) {
    return s.paused
      ? `paused before wave ${s.wave + 1}/${s.waves} (${PAUSED_ANNOTATION}=true): ${applied}`
      : `waiting to start wave ${s.wave + 1}/${s.waves}: ${applied}`;
  }
  const head = `wave ${s.wave}/${s.waves}: ${applied}`;
  const soak = soakRemaining(s, now);
  if (soak === undefined) return `${head}, ${n.inFlight} in flight${s.paused ? ` (${PAUSED_ANNOTATION}=true: no new wave starts)` : ""}`;
  if (soak > 0) return `${head}, soaking ${soak} s`;
  return `${head}, health gate waiting for counter samples`;
}

/** Progressing, Degraded and Ready as far as the rollout decides them (the controller adds what it knows besides). */
export function rolloutConditions(s: RolloutStatus, generation: number, now: Date): ConditionInput[] {
  const message = progressMessage(s, now);
  const failed = s.failedNodes ?? [];
  const first = failed[0];
  const degraded: ConditionInput = s.halted
    ? { type: "Degraded", status: "True", reason: "RolloutHalted", message: s.halted.message, observedGeneration: generation }
    : first
      ? {
          type: "Degraded",
          status: "True",
          reason: first.reason,
          message: `${s.nodes.failed} node(s) failed: ${failed
            .slice(0, 5)
            .map((f) => `${f.name} (wave ${f.wave}, ${f.reason}: ${f.message})`)
            .join("; ")}`.slice(0, 32768),
          observedGeneration: generation,
        }
      : {
          type: "Degraded",
          status: "False",
          reason: "NoFailures",
          message: "no node failed to apply or failed the health gate",
          observedGeneration: generation,
        };
  const complete = isComplete(s);
  const progressing: ConditionInput = s.halted
    ? { type: "Progressing", status: "False", reason: "RolloutHalted", message, observedGeneration: generation }
    : complete
      ? { type: "Progressing", status: "False", reason: "RolloutComplete", message, observedGeneration: generation }
      : {
          type: "Progressing",
          status: "True",
          reason: s.paused ? "Paused" : soakRemaining(s, now) !== undefined ? "Soaking" : "RollingOut",
          message,
          observedGeneration: generation,
        };
  const ready: ConditionInput =
    complete && s.nodes.failed === 0
      ? { type: "Ready", status: "True", reason: "RolloutComplete", message, observedGeneration: generation }
      : {
          type: "Ready",
          status: "False",
          reason: s.halted ? "RolloutHalted" : complete ? "NodesFailed" : "RollingOut",
          message,
          observedGeneration: generation,
        };
  return [progressing, degraded, ready];
}
