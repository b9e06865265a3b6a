import type { CounterSample } from "../../api/v1alpha1/node-state.js";
import type { Rollout } from "../../api/v1alpha1/policy.js";
import {
  FAILED_NODES_MAX,
  PAUSED_ANNOTATION,
  RESUME_ANNOTATION,
  WAVES_LISTED_MAX,
  type CounterBaseline,
  type FailedNode,
  type RolloutStatus,
  type WaveSummary,
} from "../../api/v1alpha1/rollout-status.js";
import { counterRate, judgeHealth, type NodeVerdict } from "./health-gate.js";
import { HEALTH_COUNTERS } from "../../api/v1alpha1/node-state.js";
import type { NodeProgress } from "./node-rollout-view.js";
import { planWaves, waveSize, type PlanNode } from "./wave-plan.js";

/**
 * The rollout gate: which nodes receive one policy's new desired state now. A pure step function:
 * the controller calls it on every reconcile of the policy with what it observes, writes back the
 * status it returns, and publishes the nodes' desired state as it says.
 *
 * Life of a rollout (one per policy generation, and one for the policy's removal):
 * 1. Start a wave: the next nodes by the wave plan (wave-plan.ts) are released.
 * 2. The wave lands when each of its nodes is done (its agent reported the generation applied and
 *    verified) or failed. Its soak (canary.soakSeconds, after every wave) starts then.
 * 3. After the soak, the health gate (health-gate.ts) judges each node of the wave on its TCP
 *    counters; it waits (up to HEALTH_SAMPLE_GRACE_MS) for a sample taken after the soak's end.
 * 4. The wave is judged. A failure (apply or health) with pauseOnFailure halts the rollout
 *    (status.halted, Degraded, an Event) and, with rollback, the wave's nodes are given back their
 *    state before the change. Without pauseOnFailure the failure is counted and the rollout goes on.
 * 5. The next wave starts at once (unless tcptuning.io/paused is "true"), until no node waits.
 *
 * A halted rollout resumes on a spec change (a new generation is a new rollout) or when
 * tcptuning.io/resume gets a value it has not acted on yet; with rollback the restored nodes are
 * tried again in the next wave.
 */

/** The latest sample before a wave counts as its start only when at most this old. */
export const BASELINE_MAX_AGE_MS = 120_000;

/** How long after a soak ends the gate waits for every node's first counter sample taken after it. */
export const HEALTH_SAMPLE_GRACE_MS = 120_000;
/** How often to look again while waiting for counter samples. */
export const SAMPLE_POLL_MS = 2_000;

export interface RolloutNode {
  readonly name: string;
  readonly zone?: string | undefined;
  /** The policy's target is already in this node's desired state. */
  readonly atTarget: boolean;
  /** The agent's report on that desired state (meaningful when atTarget). */
  readonly progress: NodeProgress;
  /**
   * Not at the target, but its agent has not yet reported a spec that carries other entries of the
   * policy (its previous generation's, when the spec changed mid-wave): it is changing all the same.
   */
  readonly changing?: boolean | undefined;
  readonly message?: string | undefined;
  readonly counterHistory?: readonly CounterSample[] | undefined;
}

export interface RolloutStepInput {
  readonly policy: string;
  readonly generation: number;
  readonly action: "Apply" | "Remove";
  readonly spec: Rollout | undefined;
  readonly annotations?: Readonly<Record<string, string>> | undefined;
  readonly previous: RolloutStatus | undefined;
  /** Every node the rollout concerns: those the policy matches, and those still carrying its keys. */
  readonly nodes: readonly RolloutNode[];
  readonly now: Date;
}

export interface RolloutEvent {
  readonly type: "Normal" | "Warning";
  readonly reason: string;
  readonly message: string;
}

export interface RolloutStepResult {
  /** Nodes whose desired state must carry the policy's target now (those already there included). */
  readonly release: ReadonlySet<string>;
  /** Nodes that must get back their state before the change: the policy's keys leave their desired state. */
  readonly revert: ReadonlySet<string>;
  readonly status: RolloutStatus;
  readonly events: readonly RolloutEvent[];
  /** Call again after this long even if nothing changes (a soak ends, samples are due). */
  readonly requeueAfterMs?: number;
  readonly complete: boolean;
}

const iso = (d: Date): string => d.toISOString().replace(/\.\d{3}Z$/, "Z");
const ms = (t: string | undefined): number => (t === undefined ? NaN : Date.parse(t));

function fresh(input: RolloutStepInput): RolloutStatus {
  const token = input.annotations?.[RESUME_ANNOTATION];
  return {
    generation: input.generation,
    action: input.action,
    wave: 0,
    waves: 0,
    nodes: { total: 0, done: 0, inFlight: 0, waiting: 0, failed: 0 },
    // The resume value present when a rollout starts is not a request to resume it later.
    ...(token !== undefined ? { resumeToken: token } : input.previous?.resumeToken !== undefined ? { resumeToken: input.previous.resumeToken } : {}),
  };
}

export function rolloutStep(input: RolloutStepInput): RolloutStepResult {
  const { now, spec } = input;
  const events: RolloutEvent[] = [];
  const prev = input.previous;
  const same = prev !== undefined && prev.generation === input.generation && prev.action === input.action;
  let s: RolloutStatus = same ? { ...prev } : fresh(input);
  const soakSeconds = spec?.canary?.soakSeconds ?? 0;
  s.soakSeconds = soakSeconds;
  const nodes = new Map(input.nodes.map((n) => [n.name, n]));

  // Pause and resume (annotations).
  const paused = input.annotations?.[PAUSED_ANNOTATION] === "true";
  if (paused) s.paused = true;
  else delete s.paused;
  const token = input.annotations?.[RESUME_ANNOTATION];
  if (token !== undefined && token !== s.resumeToken) {
    s.resumeToken = token;
    if (s.halted) {
      events.push({
        type: "Normal",
        reason: "RolloutResumed",
        message: `${RESUME_ANNOTATION}=${token}: resuming after wave ${s.halted.wave} (${s.halted.message})`,
      });
      delete s.halted;
      s.resumedAt = iso(now);
      // Nodes given back their originals are tried again: they leave the failed list.
      s.failedNodes = (s.failedNodes ?? []).filter((f) => nodes.get(f.name)?.atTarget === true);
    }
  }

  let failed = new Map<string, FailedNode>((s.failedNodes ?? []).filter((f) => nodes.has(f.name)).map((f) => [f.name, f]));
  const revert = new Set<string>();
  let requeueAfterMs: number | undefined;
  let members = (s.waveNodes ?? []).filter((n) => nodes.has(n));
  const judged = s.wave === 0 || s.waveCompletedAt !== undefined;
  const waveList = new Map<number, WaveSummary>((s.waveList ?? []).map((w) => [w.wave, w]));

  const isDone = (n: RolloutNode): boolean => n.atTarget && n.progress === "done" && !failed.has(n.name);
  const isFailed = (n: RolloutNode): boolean => failed.has(n.name) || (n.atTarget && n.progress === "failed");

  // The current wave: landed? soaked? healthy?
  if (!judged) {
    const wave = s.wave;
    // A node that had no counter samples when the wave started (a new agent) is measured from the
    // first sample seen since: recorded now, before the agent's short history moves past it.
    const firstSince = (m: string): CounterSample | undefined =>
      [...(nodes.get(m)?.counterHistory ?? [])].filter((x) => ms(x.sampledAt) >= ms(s.waveStartedAt)).sort((a, b) => ms(a.sampledAt) - ms(b.sampledAt))[0];
    const missing = members.filter((m) => !s.baselines?.some((b) => b.node === m && b.start) && firstSince(m) !== undefined);
    if (missing.length > 0) {
      const partial = new Map((s.baselines ?? []).map((b) => [b.node, b]));
      const kept = (s.baselines ?? []).filter((b) => !missing.includes(b.node));
      s.baselines = [...kept, ...missing.map((m) => ({ ...partial.get(m), node: m, start: firstSince(m) as CounterSample }))];
    }
    const landed = members.every((m) => {
      const n = nodes.get(m) as RolloutNode;
      return n.atTarget && n.progress !== "inFlight";
    });
    if (landed) {
      s.soakStartedAt ??= iso(now);
      const soakEnd = ms(s.soakStartedAt) + soakSeconds * 1000;
      let verdicts: NodeVerdict[] | undefined;
      if (now.getTime() < soakEnd) {
        requeueAfterMs = soakEnd - now.getTime();
      } else if (soakSeconds > 0) {
        const changed = members.map((m) => nodes.get(m) as RolloutNode).filter((n) => n.progress === "done");
        const sampled = changed.every((n) => (n.counterHistory ?? []).some((x) => ms(x.sampledAt) >= soakEnd));
        if (sampled || now.getTime() >= soakEnd + HEALTH_SAMPLE_GRACE_MS) {
          const unchanged = input.nodes.filter((n) => !n.atTarget && !members.includes(n.name));
          verdicts = judgeHealth({
            changed: changed.map((n) => ({ name: n.name, samples: n.counterHistory ?? [], baseline: s.baselines?.find((b) => b.node === n.name) })),
            unchanged: unchanged.map((n) => ({ name: n.name, samples: n.counterHistory ?? [] })),
            changedAt: new Date(ms(s.waveStartedAt)),
          });
        } else {
          requeueAfterMs = SAMPLE_POLL_MS;
        }
      } else {
        verdicts = [];
      }
      if (verdicts) {
        for (const m of members) {
          const n = nodes.get(m) as RolloutNode;
          if (n.progress === "failed")
            failed.set(m, { name: m, wave, reason: "ApplyFailed", message: (n.message ?? "the agent reported a failure").slice(0, 1024) });
        }
        for (const v of verdicts.filter((x) => !x.healthy)) {
          failed.set(v.name, { name: v.name, wave, reason: "HealthGate", message: v.message.slice(0, 1024) });
          events.push({ type: "Warning", reason: "HealthGateFailed", message: `wave ${wave}: node ${v.name}: ${v.message}` });
        }
        const waveFailures = [...failed.values()].filter((f) => f.wave === wave && members.includes(f.name));
        s.waveCompletedAt = iso(now);
        let state: WaveSummary["state"] = waveFailures.length > 0 ? "Failed" : "Done";
        if (waveFailures.length > 0) {
          const first = waveFailures[0] as FailedNode;
          const what = `${waveFailures.length} node(s) failed in wave ${wave}: ${first.name}: ${first.reason}: ${first.message}`;
          if (spec?.pauseOnFailure) {
            const rolledBack = spec.rollback === true && input.action === "Apply";
            s.halted = { wave, reason: first.reason, message: what.slice(0, 2048), at: iso(now), ...(rolledBack ? { rolledBack } : {}) };
            if (rolledBack) {
              for (const m of members) revert.add(m);
              state = "RolledBack";
            }
            events.push({
              type: "Warning",
              reason: "RolloutHalted",
              message: `${what}; no further wave starts${rolledBack ? "; the wave's nodes get their originals back" : ""} until the spec changes or ${RESUME_ANNOTATION} gets a new value`,
            });
          } else {
            events.push({ type: "Warning", reason: "WaveFailed", message: `${what}; the rollout goes on (pauseOnFailure is not set)` });
          }
        }
        waveList.set(wave, waveSummary(wave, members, nodes, failed, state));
      }
    } else {
      waveList.set(wave, waveSummary(wave, members, nodes, failed, "InFlight"));
    }
  }

  // While halted with rollback, the wave's nodes stay restored (the controller must not re-release them).
  if (s.halted?.rolledBack) for (const m of members) revert.add(m);

  // Start the next wave.
  const all: PlanNode[] = input.nodes.map((n) => ({ name: n.name, zone: n.zone }));
  const waitingNodes = (): RolloutNode[] =>
    input.nodes.filter((n) => !n.atTarget && !revert.has(n.name) && !(s.waveCompletedAt === undefined && members.includes(n.name)));
  const nowJudged = s.wave === 0 || s.waveCompletedAt !== undefined;
  if (nowJudged && !s.halted && !paused) {
    const waiting = waitingNodes();
    // Nodes released but not landed that no judged wave holds: the status this step started from
    // is older than the node states (the controller restarted between writing a wave's node states
    // and its status). They belong to the wave that starts now and count toward its size, so a
    // stale status can never release more nodes at once than a wave may hold.
    const judgedMembers = new Set(members);
    const orphans = input.nodes.filter((n) => n.atTarget && n.progress === "inFlight" && !judgedMembers.has(n.name)).map((n) => n.name);
    // Nodes still applying the policy's previous generation (the spec changed while a wave was in
    // flight) are changing too: they hold their places in the wave that starts, which waits for
    // them rather than put more nodes in flight than a wave holds.
    const elsewhere = input.nodes.filter((n) => !n.atTarget && n.changing === true).length;
    const size = waveSize(spec, s.wave + 1, all.length);
    const planned = (planWaves({ policy: input.policy, spec, all, waiting, nextWave: s.wave + 1 })[0] ?? []).slice(
      0,
      Math.max(0, size - orphans.length - elsewhere),
    );
    const next = [...orphans, ...planned.map((n) => n.name)];
    if (next.length > 0) {
      s.wave += 1;
      members = next;
      s.waveNodes = members;
      s.waveStartedAt = iso(now);
      const baselines = members
        .map((m) => counterBaseline(m, nodes.get(m)?.counterHistory ?? [], now))
        .filter((b) => b.start !== undefined || b.before !== undefined);
      if (baselines.length > 0) s.baselines = baselines;
      else delete s.baselines;
      delete s.soakStartedAt;
      delete s.waveCompletedAt;
      delete s.completedAt;
      waveList.set(s.wave, waveSummary(s.wave, members, nodes, failed, "InFlight"));
      requeueAfterMs = undefined;
    }
  }

  // Planned waves after the current one (for the count and the progress view).
  const inCurrent = new Set(s.waveCompletedAt === undefined ? members : []);
  const future = planWaves({ policy: input.policy, spec, all, waiting: waitingNodes().filter((n) => !inCurrent.has(n.name)), nextWave: s.wave + 1 });
  s.waves = s.wave + future.length;
  future.forEach((w, i) => waveList.set(s.wave + 1 + i, { wave: s.wave + 1 + i, size: w.length, done: 0, failed: 0, state: "Waiting" }));
  for (const w of [...waveList.keys()]) if (w > s.waves) waveList.delete(w);
  s.waveList = boundWaves(
    [...waveList.values()].sort((a, b) => a.wave - b.wave),
    s.wave,
  );

  // Counts.
  failed = new Map(
    [...failed].filter(([name, f]) => {
      const n = nodes.get(name) as RolloutNode;
      // A node that failed to apply and has since applied is done; a health failure stays for this generation.
      return f.reason === "HealthGate" || revert.has(name) || (n.atTarget && n.progress === "failed") || !n.atTarget;
    }),
  );
  for (const n of input.nodes)
    if (n.atTarget && n.progress === "failed" && !failed.has(n.name) && s.waveCompletedAt !== undefined) {
      failed.set(n.name, { name: n.name, wave: s.wave, reason: "ApplyFailed", message: (n.message ?? "the agent reported a failure").slice(0, 1024) });
    }
  const failedList = [...failed.values()].sort((a, b) => a.wave - b.wave || (a.name < b.name ? -1 : 1));
  if (failedList.length > 0) s.failedNodes = failedList.slice(0, FAILED_NODES_MAX);
  else delete s.failedNodes;
  const counts = { total: input.nodes.length, done: 0, inFlight: 0, waiting: 0, failed: 0 };
  const release = new Set<string>();
  const current = new Set(members);
  for (const n of input.nodes) {
    if (isFailed(n)) counts.failed++;
    else if (isDone(n)) counts.done++;
    else if (n.atTarget || (current.has(n.name) && !revert.has(n.name))) counts.inFlight++;
    else counts.waiting++;
    if (!revert.has(n.name) && (n.atTarget || (current.has(n.name) && !s.halted))) release.add(n.name);
  }
  s.nodes = counts;

  const complete = !s.halted && counts.waiting === 0 && counts.inFlight === 0 && (s.waveCompletedAt !== undefined || s.wave === 0);
  if (complete && s.completedAt === undefined) {
    s.completedAt = iso(now);
    events.push({
      type: counts.failed > 0 ? "Warning" : "Normal",
      reason: "RolloutComplete",
      message: `${input.action === "Apply" ? `generation ${input.generation}` : "removal"}: ${counts.done}/${counts.total} node(s) done${counts.failed > 0 ? `, ${counts.failed} failed` : ""} in ${s.wave} wave(s)`,
    });
  }
  return { release, revert, status: s, events, complete, ...(requeueAfterMs !== undefined ? { requeueAfterMs } : {}) };
}

/** A node's latest sample before `now` and its rates over the samples before (the health gate's baseline). */
export function counterBaseline(node: string, history: readonly CounterSample[], now: Date): CounterBaseline {
  const earlier = history.filter((x) => Date.parse(x.sampledAt) <= now.getTime());
  const latest = earlier.reduce<CounterSample | undefined>((l, x) => (!l || Date.parse(x.sampledAt) > Date.parse(l.sampledAt) ? x : l), undefined);
  // An old sample (an agent that has not written its counters for a while) would spread the rate
  // after over the minutes before the change: the first sample after the change starts it instead.
  const start = latest && now.getTime() - Date.parse(latest.sampledAt) <= BASELINE_MAX_AGE_MS ? latest : undefined;
  const before: Record<string, number> = {};
  for (const c of HEALTH_COUNTERS) {
    const r = counterRate(earlier, c);
    if (r) before[c] = Number(r.perSecond.toPrecision(6));
  }
  return { node, ...(start ? { start } : {}), ...(Object.keys(before).length > 0 ? { before } : {}) };
}

function waveSummary(
  wave: number,
  members: readonly string[],
  nodes: ReadonlyMap<string, RolloutNode>,
  failed: ReadonlyMap<string, FailedNode>,
  state: WaveSummary["state"],
): WaveSummary {
  let done = 0;
  let nfailed = 0;
  for (const m of members) {
    const n = nodes.get(m);
    if (!n) continue;
    if (failed.has(m) || (n.atTarget && n.progress === "failed")) nfailed++;
    else if (n.atTarget && n.progress === "done") done++;
  }
  return { wave, size: members.length, done, failed: nfailed, state };
}

/** At most WAVES_LISTED_MAX waves: the first, then those around the current one. */
function boundWaves(list: readonly WaveSummary[], current: number): WaveSummary[] {
  if (list.length <= WAVES_LISTED_MAX) return [...list];
  const first = list.slice(0, 1);
  const i = Math.max(
    1,
    list.findIndex((w) => w.wave === current),
  );
  const start = Math.max(1, Math.min(i - Math.floor(WAVES_LISTED_MAX / 2), list.length - (WAVES_LISTED_MAX - 1)));
  return [...first, ...list.slice(start, start + WAVES_LISTED_MAX - 1)];
}
