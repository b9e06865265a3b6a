import { HEALTH_COUNTERS, type CounterSample, type HealthCounter } from "../../api/v1alpha1/node-state.js";

/**
 * The rollout's health gate: after a wave's soak, is each changed node's kernel worse off than
 * before the change? Pure arithmetic on the counter samples agents report (status.counterHistory).
 *
 * For each counter (all cumulative since boot) a rate in events per second is read from a series:
 * the sum of the increases between consecutive samples over the time they span. A pair whose value
 * went down (a reboot or a counter reset) or whose boot id changed is left out, as is a pair with
 * the counter missing on either side: a reset never looks like a huge increase, and a kernel that
 * does not expose a counter is simply not judged on it.
 *
 * A node regresses on a counter when its rate AFTER the change (samples from the wave's start on)
 * is above  max(FACTOR x its own rate BEFORE the change, before + FLOOR)  and, when nodes not yet
 * changed report the counter, also above  max(FACTOR x their median rate, median + FLOOR)  over
 * the same time (a fleet-wide traffic spike is not the change's fault). Without its own baseline a
 * node is judged against the unchanged nodes alone; with neither, or without two samples after
 * the change, it is not judged (it passes, and the verdict says why).
 */

export const HEALTH_FACTOR = 3;

/** The absolute floor per counter, in events per second: below it nothing counts as a regression. */
export const HEALTH_FLOORS: Readonly<Record<HealthCounter, number>> = {
  listenOverflows: 0.1,
  listenDrops: 0.1,
  tcpAbortOnTimeout: 0.05,
  attemptFails: 0.5,
};

export interface Rate {
  readonly perSecond: number;
  /** Seconds the valid pairs span. */
  readonly seconds: number;
}

function big(v: string | undefined): bigint | undefined {
  if (v === undefined || !/^\d+$/.test(v)) return undefined;
  return BigInt(v);
}

/** The rate of one counter over a series of samples (sorted here by time); undefined without a valid pair. */
export function counterRate(samples: readonly CounterSample[], counter: HealthCounter): Rate | undefined {
  const sorted = [...samples].sort((a, b) => Date.parse(a.sampledAt) - Date.parse(b.sampledAt));
  let increase = 0;
  let seconds = 0;
  let pairs = 0;
  for (let i = 1; i < sorted.length; i++) {
    const a = sorted[i - 1] as CounterSample;
    const b = sorted[i] as CounterSample;
    const dt = (Date.parse(b.sampledAt) - Date.parse(a.sampledAt)) / 1000;
    if (!(dt > 0)) continue;
    if (a.bootId !== undefined && b.bootId !== undefined && a.bootId !== b.bootId) continue;
    const va = big(a[counter]);
    const vb = big(b[counter]);
    if (va === undefined || vb === undefined || vb < va) continue;
    increase += Number(vb - va);
    seconds += dt;
    pairs++;
  }
  return pairs === 0 ? undefined : { perSecond: increase / seconds, seconds };
}

export interface NodeSeries {
  readonly name: string;
  readonly samples: readonly CounterSample[];
  /**
   * The node's sample just before the change and its rates before, recorded when the change
   * started: the rate after is then measured from that sample on, even when the agent's short
   * history no longer holds it (a soak longer than the history).
   */
  readonly baseline?: { readonly start?: CounterSample | undefined; readonly before?: Readonly<Partial<Record<string, number>>> | undefined } | undefined;
}

export interface HealthInput {
  /** The nodes the wave changed. */
  readonly changed: readonly NodeSeries[];
  /** Nodes the rollout has not changed yet (the control group); may be empty (last wave). */
  readonly unchanged: readonly NodeSeries[];
  /** When the wave was released: samples before it are the baseline, samples from it on the outcome. */
  readonly changedAt: Date;
}

export interface CounterFinding {
  readonly counter: HealthCounter;
  readonly after: number;
  readonly before?: number;
  readonly peers?: number;
  readonly limit: number;
}

export interface NodeVerdict {
  readonly name: string;
  readonly healthy: boolean;
  /** Regressions (empty when healthy). */
  readonly findings: readonly CounterFinding[];
  /** One line for status and Events: why it failed, or why it was not judged. */
  readonly message: string;
}

function median(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/** The limit a rate must exceed to count as a regression against a reference rate. */
export function regressionLimit(reference: number, counter: HealthCounter): number {
  return Math.max(HEALTH_FACTOR * reference, reference + HEALTH_FLOORS[counter]);
}

function fmt(n: number): string {
  return n >= 10 ? n.toFixed(0) : n >= 1 ? n.toFixed(1) : n.toFixed(2);
}

export function describeFinding(f: CounterFinding): string {
  const refs = [f.before !== undefined ? `${fmt(f.before)}/s before` : undefined, f.peers !== undefined ? `${fmt(f.peers)}/s on unchanged nodes` : undefined]
    .filter(Boolean)
    .join(", ");
  return `${f.counter} ${fmt(f.after)}/s after the change (${refs}; limit ${fmt(f.limit)}/s)`;
}

/** The verdict on each changed node. */
export function judgeHealth(input: HealthInput): NodeVerdict[] {
  const t0 = input.changedAt.getTime();
  const after = (s: readonly CounterSample[]) => s.filter((x) => Date.parse(x.sampledAt) >= t0);
  const before = (s: readonly CounterSample[]) => s.filter((x) => Date.parse(x.sampledAt) < t0);
  const peerRates = new Map<HealthCounter, number | undefined>(
    HEALTH_COUNTERS.map((c) => [
      c,
      median(
        input.unchanged
          .map((n) => counterRate(after(n.samples).length >= 2 ? after(n.samples) : n.samples, c)?.perSecond)
          .filter((r): r is number => r !== undefined),
      ),
    ]),
  );
  return input.changed.map((node) => {
    const findings: CounterFinding[] = [];
    let judged = 0;
    let noBaseline = 0;
    const start = node.baseline?.start;
    const afterSeries = start
      ? [start, ...node.samples.filter((x) => Date.parse(x.sampledAt) > Date.parse(start.sampledAt) && Date.parse(x.sampledAt) >= t0)]
      : after(node.samples);
    for (const counter of HEALTH_COUNTERS) {
      const a = counterRate(afterSeries, counter);
      if (!a) continue;
      const recorded = node.baseline?.before?.[counter];
      const b = recorded !== undefined ? { perSecond: recorded, seconds: 0 } : counterRate(before(node.samples), counter);
      const p = peerRates.get(counter);
      if (!b && p === undefined) {
        noBaseline++;
        continue;
      }
      judged++;
      const limits = [b ? regressionLimit(b.perSecond, counter) : undefined, p !== undefined ? regressionLimit(p, counter) : undefined].filter(
        (x): x is number => x !== undefined,
      );
      const limit = Math.max(...limits);
      if (a.perSecond > limit)
        findings.push({ counter, after: a.perSecond, ...(b ? { before: b.perSecond } : {}), ...(p !== undefined ? { peers: p } : {}), limit });
    }
    if (findings.length > 0) return { name: node.name, healthy: false, findings, message: `health gate: ${findings.map(describeFinding).join("; ")}` };
    const message =
      judged > 0
        ? `health gate passed on ${judged} counter(s)`
        : noBaseline > 0
          ? "not judged: no counter samples from before the change and no unchanged node to compare with"
          : "not judged: fewer than two counter samples since the change";
    return { name: node.name, healthy: true, findings, message };
  });
}
