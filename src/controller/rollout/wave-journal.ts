import type { DesiredSysctl } from "../../api/v1alpha1/node-state.js";
import type { RolloutStatus } from "../../api/v1alpha1/rollout-status.js";
import { policyEntriesEqual } from "./node-rollout-view.js";

/**
 * Write-ahead for waves. status.rollout is the rollout's record, so a node state change that puts a
 * node into a policy's wave may be written only once the policy's status naming that wave's nodes
 * is in the cluster. Written the other way round (or at the same time), a leader killed between the
 * two leaves nodes changed that no recorded wave holds: the next leader finds them done, counts them
 * as done and starts the next wave at once, so they were never soaked nor judged by the health gate.
 * Pure.
 */

export interface WaveJournalInput {
  readonly node: string;
  /** The node state's spec.sysctls now (undefined: no node state yet). */
  readonly current: readonly DesiredSysctl[] | undefined;
  /** The spec.sysctls the controller is about to write. */
  readonly next: readonly DesiredSysctl[];
  /** Each policy's status.rollout as the controller is about to write it. */
  readonly planned: (policy: string) => RolloutStatus | undefined;
  /** Each policy's status.rollout as the cluster holds it. */
  readonly recorded: (policy: string) => RolloutStatus | undefined;
}

/** The same wave of the same rollout, naming `node`. */
function names(s: RolloutStatus | undefined, wave: RolloutStatus, node: string): boolean {
  return s !== undefined && s.generation === wave.generation && s.action === wave.action && s.wave === wave.wave && (s.waveNodes ?? []).includes(node);
}

/** May `next` be written now: every policy that changes this node in its current wave has that wave recorded. */
export function releaseRecorded(input: WaveJournalInput): boolean {
  const policies = new Set([...(input.current ?? []).map((d) => d.policy), ...input.next.map((d) => d.policy)]);
  for (const policy of policies) {
    if (
      policyEntriesEqual(
        input.current,
        policy,
        input.next.filter((d) => d.policy === policy),
      )
    )
      continue;
    const planned = input.planned(policy);
    // A change that is not a wave's (no gradual rollout, or a node no wave of it names) has nothing to record.
    if (!planned || !(planned.waveNodes ?? []).includes(input.node)) continue;
    if (!names(input.recorded(policy), planned, input.node)) return false;
  }
  return true;
}
