import type { Condition } from "../../api/v1alpha1/meta.js";
import type { Policy } from "../../api/v1alpha1/policy.js";
import type { RolloutStatus, WaveSummary } from "../../api/v1alpha1/rollout-status.js";
import { progressMessage, soakRemaining } from "./progress.js";

/**
 * What `tcp-tuning rollout status` shows, from one snapshot of a policy. Pure: the command fetches
 * and prints; these functions only turn a policy into text and say whether the watch is over.
 */

export type Outcome = "ready" | "degraded";

function condition(policy: Policy, type: string): Condition | undefined {
  const c = policy.status?.conditions?.find((x) => x.type === type);
  // A condition about an older generation says nothing about this one.
  return c && (c.observedGeneration === undefined || c.observedGeneration === policy.metadata.generation) ? c : undefined;
}

function current(policy: Policy): RolloutStatus | undefined {
  const r = policy.status?.rollout;
  const deleting = policy.metadata.deletionTimestamp !== undefined;
  if (!r) return undefined;
  if (deleting) return r.action === "Remove" ? r : undefined;
  return r.action === "Apply" && r.generation === policy.metadata.generation ? r : undefined;
}

/** How the watch ends: Ready (exit 0), or Degraded once the rollout stopped or finished with failures (exit 1). */
export function outcome(policy: Policy): Outcome | undefined {
  const r = current(policy);
  if (r?.halted) return "degraded";
  if (condition(policy, "Ready")?.status === "True" && (!r || r.completedAt !== undefined)) return "ready";
  if (r?.completedAt !== undefined && (r.nodes.failed > 0 || condition(policy, "Degraded")?.status === "True")) return "degraded";
  return undefined;
}

/** The one line that says where the rollout is. */
export function headline(policy: Policy, now: Date): string {
  const r = current(policy);
  if (r) return progressMessage(r, now);
  const progressing = condition(policy, "Progressing");
  if (progressing) return progressing.message;
  return `waiting for the controller to observe generation ${policy.metadata.generation ?? "?"}`;
}

const BAR = 24;

export function bar(done: number, failed: number, size: number, unicode: boolean): string {
  if (size === 0) return `[${" ".repeat(BAR)}]`;
  const f = Math.round((failed / size) * BAR);
  const d = Math.min(BAR - f, Math.round((done / size) * BAR));
  const [full, bad, empty] = unicode ? ["█", "▓", "░"] : ["#", "x", "."];
  return `[${full.repeat(d)}${bad.repeat(f)}${empty.repeat(BAR - d - f)}]`;
}

const STATE_WORDS: Record<WaveSummary["state"], string> = {
  Waiting: "waiting",
  InFlight: "in flight",
  Soaking: "soaking",
  Done: "done",
  Failed: "done",
  RolledBack: "rolled back",
};

function waveState(w: WaveSummary, r: RolloutStatus, now: Date): string {
  if (w.wave !== r.wave || w.state !== "InFlight") return STATE_WORDS[w.state];
  const soak = soakRemaining(r, now);
  if (soak === undefined) return "in flight";
  return soak > 0 ? `soaking ${soak} s` : "health gate";
}

export interface FrameOptions {
  /** Block characters for the bars (a terminal); '#' and '.' otherwise. */
  readonly unicode: boolean;
}

/** The whole view: a header, the headline, a bar per wave, the failed nodes and why. */
export function rolloutFrame(policy: Policy, now: Date, opts: FrameOptions): string[] {
  const r = current(policy);
  const lines = [
    `ttp/${policy.metadata.name} generation ${policy.metadata.generation ?? "?"}${r ? ` (${r.action === "Remove" ? "removal" : "apply"})` : ""}`,
    headline(policy, now),
  ];
  if (!r) return lines;
  const waves = r.waveList ?? [];
  const width = String(Math.max(r.waves, 1)).length;
  const countWidth = 2 * Math.max(1, ...waves.map((w) => String(w.size).length)) + 1;
  let previous = 0;
  for (const w of waves) {
    if (w.wave > previous + 1) lines.push(`  ... ${w.wave - previous - 1} wave(s) not listed`);
    previous = w.wave;
    const counts = `${w.done}/${w.size}`.padStart(countWidth);
    const state = r.halted?.wave === w.wave && w.state !== "RolledBack" ? "halted" : waveState(w, r, now);
    lines.push(
      `  wave ${String(w.wave).padStart(width)} ${bar(w.done, w.failed, w.size, opts.unicode)} ${counts} ${state}${w.failed > 0 ? `, ${w.failed} failed` : ""}`,
    );
  }
  if (r.waves > previous) lines.push(`  ... ${r.waves - previous} more wave(s)`);
  const failed = r.failedNodes ?? [];
  if (failed.length > 0) {
    lines.push(`failed nodes (${r.nodes.failed}):`);
    for (const f of failed) lines.push(`  ${f.name} (wave ${f.wave}) ${f.reason}: ${f.message}`);
    if (r.nodes.failed > failed.length) lines.push(`  ... and ${r.nodes.failed - failed.length} more`);
  }
  const end = outcome(policy);
  if (end === "ready") lines.push(`Ready: ${condition(policy, "Ready")?.message ?? "rollout complete"}`);
  if (end === "degraded") lines.push(`Degraded: ${condition(policy, "Degraded")?.message ?? r.halted?.message ?? "rollout finished with failed nodes"}`);
  return lines;
}

/**
 * Plain lines (not a terminal): a line each time the rollout moves (a wave starts, a node lands or
 * fails, a soak starts or ends), each failed node once, and the outcome once.
 */
export class PlainPrinter {
  private lastKey: string | undefined;
  private readonly failedShown = new Set<string>();
  private ended = false;

  lines(policy: Policy, now: Date): string[] {
    const out: string[] = [];
    const r = current(policy);
    const soak = r ? soakRemaining(r, now) : undefined;
    const key = r
      ? [
          r.generation,
          r.action,
          r.wave,
          r.waves,
          r.nodes.done,
          r.nodes.failed,
          r.nodes.inFlight,
          r.waveCompletedAt ?? "",
          soak === undefined ? "-" : soak > 0 ? "soak" : "gate",
          r.halted?.at ?? "",
          r.paused ?? false,
          r.completedAt ?? "",
        ].join("|")
      : headline(policy, now);
    if (key !== this.lastKey) {
      this.lastKey = key;
      out.push(headline(policy, now));
    }
    for (const f of r?.failedNodes ?? []) {
      const id = `${r?.generation}/${f.name}/${f.wave}/${f.reason}`;
      if (this.failedShown.has(id)) continue;
      this.failedShown.add(id);
      out.push(`failed: ${f.name} (wave ${f.wave}) ${f.reason}: ${f.message}`);
    }
    const end = outcome(policy);
    if (end && !this.ended) {
      this.ended = true;
      out.push(
        end === "ready"
          ? `Ready: ${condition(policy, "Ready")?.message ?? "rollout complete"}`
          : `Degraded: ${condition(policy, "Degraded")?.message ?? r?.halted?.message ?? "rollout finished with failed nodes"}`,
      );
    }
    return out;
  }
}
