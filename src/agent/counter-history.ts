import { COUNTER_HISTORY_MAX, HEALTH_COUNTERS, type CounterSample, type TcpCounters } from "../api/v1alpha1/node-state.js";

/**
 * The short history of health-counter samples an agent reports (status.counterHistory), so the
 * controller's health gate can read a node's rates before a change after the change has landed.
 *
 * Cadence: a sample every --counters-interval (default 30 s), jittered +-20 % so a fleet's agents
 * do not sample (and write) in step. Samples are written to status with every status write; for
 * --counters-window (default 10 min) after a new desired generation is applied, each sample is
 * also written on its own, so a soak sees fresh rates. Outside that window a sample costs no write.
 */

export const DEFAULT_COUNTERS_INTERVAL_MS = 30_000;
export const DEFAULT_COUNTERS_WINDOW_MS = 10 * 60_000;
const JITTER = 0.2;

export function toSample(counters: TcpCounters, bootId: string | undefined): CounterSample {
  const sample: CounterSample = { sampledAt: counters.sampledAt };
  if (bootId !== undefined) sample.bootId = bootId;
  for (const k of [...HEALTH_COUNTERS, "activeOpens"] as const) {
    const v = counters[k];
    if (v !== undefined) sample[k] = v;
  }
  return sample;
}

/** Appends a sample, oldest first, keeping the newest COUNTER_HISTORY_MAX (and dropping any sample not newer than the last). */
export function appendSample(history: readonly CounterSample[], sample: CounterSample, max = COUNTER_HISTORY_MAX): CounterSample[] {
  const last = history[history.length - 1];
  if (last && Date.parse(sample.sampledAt) <= Date.parse(last.sampledAt)) return [...history];
  return [...history, sample].slice(-max);
}

/** The delay before the next sample: interval +-20 %. */
export function jitteredDelay(intervalMs: number, random: () => number = Math.random): number {
  return Math.round(intervalMs * (1 - JITTER + 2 * JITTER * random()));
}
