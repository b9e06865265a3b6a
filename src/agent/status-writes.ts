import type { NodeStateStatus } from "../api/v1alpha1/node-state.js";

/**
 * When the agent writes its status: proportional to change (issue 10).
 *
 * Every drift interval the agent re-reads its keys, probes the kernel and samples the TCP counters,
 * and builds the status it would report. It is written only when
 * - something other than the sampling times and the counters differs from the status last written
 *   (a generation applied, a key result, a drift, a condition, a probed value, an original), or
 * - the counters in the last written status are older than the counters report interval (default
 *   10 min), jittered by +-20 % per agent so that a fleet started together does not write in step.
 *
 * In steady state (nothing changes on the node) that is one write per agent per ~10 min: 5,000
 * nodes write 5000 / 600 s = ~8.3 status patches per second together, instead of one per agent per
 * drift interval (5000 / 60 s = ~83/s). A failed write is not recorded, so the next report retries.
 *
 * Sampling for the rollout's health gate (counter history) runs on its own cadence and is not
 * decided here.
 */

export const DEFAULT_COUNTERS_REPORT_INTERVAL_MS = 10 * 60_000;
/** +-20 %: enough to spread a fleet over two minutes of every ten. */
export const COUNTERS_REPORT_JITTER = 0.2;

/** A delay of `ms` +-jitter, from a uniform random number in [0, 1). */
export function jitteredInterval(ms: number, random: () => number = Math.random, jitter = COUNTERS_REPORT_JITTER): number {
  return Math.round(ms * (1 - jitter + 2 * jitter * random()));
}

/**
 * The status without what changes at every sample (probe time, counters, and the counter history
 * the rollout's health gate reads, which grows with every sample): what "a change" means.
 */
export function statusSubstance(status: NodeStateStatus): string {
  const { counters: _counters, counterHistory: _history, probe, ...rest } = status as NodeStateStatus & { counterHistory?: unknown };
  const substance = probe ? { ...rest, probe: { ...probe, probedAt: "" } } : rest;
  return JSON.stringify(substance);
}

export type StatusWriteReason = "first" | "changed" | "counters";

export class StatusWriteGate {
  private lastSubstance: string | undefined;
  private countersDueAt = 0;

  constructor(
    private readonly countersReportIntervalMs = DEFAULT_COUNTERS_REPORT_INTERVAL_MS,
    private readonly random: () => number = Math.random,
  ) {}

  /** Why this status should be written now, or undefined to skip it. */
  reason(next: NodeStateStatus, nowMs: number): StatusWriteReason | undefined {
    if (this.lastSubstance === undefined) return "first";
    if (statusSubstance(next) !== this.lastSubstance) return "changed";
    if (next.counters && nowMs >= this.countersDueAt) return "counters";
    return undefined;
  }

  /** Records a status that was written (only after the write succeeded). */
  written(status: NodeStateStatus, nowMs: number): void {
    this.lastSubstance = statusSubstance(status);
    this.countersDueAt = nowMs + jitteredInterval(this.countersReportIntervalMs, this.random);
  }
}
