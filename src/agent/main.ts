import type { CounterSample, Drift, KeyResult, NodeStateStatus, OriginalValue, TcpCounters } from "../api/v1alpha1/node-state.js";
import type { Logger } from "../log.js";
import type { AgentMetrics } from "../metrics/index.js";
import { appendSample, DEFAULT_COUNTERS_INTERVAL_MS, DEFAULT_COUNTERS_WINDOW_MS, jitteredDelay, toSample } from "./counter-history.js";
import { readTcpCounters } from "./counters.js";
import { removeStaleTemporaries } from "./atomic-file.js";
import { kernelBootId, probeNode } from "./probe.js";
import { checkDrift, reconcile, type AgentSysctl, type ReconcileContext } from "./reconcile.js";
import { StateFileError } from "./state-file.js";
import { agentStatus, type AgentView } from "./status.js";
import { DEFAULT_COUNTERS_REPORT_INTERVAL_MS, StatusWriteGate } from "./status-writes.js";
import type { SysctlFs } from "./sysctl-fs.js";

/**
 * The agent loop. One node, one state object: the backend delivers that object's desired sysctls
 * (the API server, or a file for tests and air-gapped use) and takes status and Events back.
 *
 * - Every desired change runs one reconcile pass (apply all-or-nothing, restore keys no longer
 *   desired). A deleted object or an empty list restores every original.
 * - Every drift interval: desired keys are re-read and re-applied when someone changed them, and a
 *   generation that did not fully apply is tried again. Status is written only when it changed, and
 *   the counters alone every --counters-report-interval (status-writes.ts).
 * - stop() (SIGTERM) stops watching and returns. It restores nothing: values stay until desired
 *   state says otherwise (an agent upgrade must not flap the node's settings).
 */

export interface DesiredState {
  /** metadata.generation of the state object; undefined when it has none (file input). */
  readonly generation: number | undefined;
  readonly sysctls: readonly AgentSysctl[];
  /** The object is gone: everything is restored and no status can be written. */
  readonly deleted: boolean;
  /** The object's current status, so counts (drift) survive restarts. */
  readonly status?: NodeStateStatus;
  /**
   * The latest desired state could not be used (an invalid file, or one for another node), and why:
   * the previous desired state stays in effect and status says that the latest one was rejected.
   */
  readonly rejected?: string;
}

export interface AgentEvent {
  readonly type: "Normal" | "Warning";
  readonly reason: string;
  readonly message: string;
}

export interface AgentBackend {
  /** Starts delivering desired state: once now, then on every change. */
  start(onDesired: (desired: DesiredState) => void): Promise<void>;
  writeStatus(status: NodeStateStatus): Promise<void>;
  emitEvent(event: AgentEvent): Promise<void>;
  stop(): Promise<void>;
  /** Status outlives a deleted desired state (a file), so it is written after the restore too. */
  readonly keepsStatusWhenDeleted?: boolean;
}

export interface AgentOptions {
  readonly nodeName: string;
  readonly fs: SysctlFs;
  readonly stateFile: string;
  readonly procNet: string;
  readonly driftIntervalMs: number;
  readonly backend: AgentBackend;
  readonly log: Logger;
  readonly afterWrite?: (sysctlName: string, writesSoFar: number) => Promise<void>;
  /** When nothing else changed, the TCP counters are written to status this often (+-20 %); default 10 min. */
  readonly countersReportIntervalMs?: number;
  /** Where pass results, drift corrections, status writes and the TCP counters are counted (Prometheus). */
  readonly metrics?: AgentMetrics;
  /** How often the TCP counters are sampled into the history (jittered +-20 %); default 30 s. */
  readonly countersIntervalMs?: number;
  /** For this long after a new generation is applied, every sample is written to status; default 10 min. */
  readonly countersWindowMs?: number;
}

export class Agent {
  private current: DesiredState | undefined;
  private lastStatus: NodeStateStatus | undefined;
  private appliedGeneration: { desired: readonly AgentSysctl[]; complete: boolean } | undefined;
  private keys: KeyResult[] = [];
  private originals: OriginalValue[] = [];
  private drift: Drift = { count: 0 };
  private lastDrifted: string[] = [];
  private queue: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private bootId: string | undefined;
  /** Why the latest desired state was rejected, until a usable one arrives. */
  private rejected: string | undefined;
  private readonly statusWrites: StatusWriteGate;
  private passed = false;
  private counterHistory: CounterSample[] = [];
  private countersTimer: NodeJS.Timeout | undefined;
  /** Until when each counter sample is written on its own (a rollout is soaking this change). */
  private watchCountersUntil = 0;

  constructor(private readonly opts: AgentOptions) {
    this.statusWrites = new StatusWriteGate(opts.countersReportIntervalMs ?? DEFAULT_COUNTERS_REPORT_INTERVAL_MS);
  }

  async start(): Promise<void> {
    this.bootId = await kernelBootId(this.opts.fs.root);
    // Temp files of a writer killed between create and rename (kill -9, OOM, power loss).
    const stale = await removeStaleTemporaries(this.opts.stateFile);
    if (stale.length > 0) this.opts.log.warn({ removed: stale }, "removed temporary files left by an earlier agent");
    await this.opts.backend.start((desired) => this.enqueue(() => this.onDesired(desired)));
    this.timer = setInterval(() => this.enqueue(() => this.periodic()), this.opts.driftIntervalMs);
    this.scheduleSample();
    this.opts.log.info(
      { node: this.opts.nodeName, root: this.opts.fs.root, stateFile: this.opts.stateFile, driftIntervalMs: this.opts.driftIntervalMs },
      "agent started",
    );
  }

  /** Stops watching; restores nothing. Waits for the pass in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (this.countersTimer) clearTimeout(this.countersTimer);
    await this.opts.backend.stop();
    await this.queue;
    this.opts.log.info("agent stopped; sysctls left as they are");
  }

  /** Ready (/readyz): a first pass has run since start, whatever its result. */
  get ready(): boolean {
    return this.passed && !this.stopped;
  }

  /** Resolves when every queued pass has run (tests and shutdown). */
  idle(): Promise<void> {
    return this.queue;
  }

  private enqueue(work: () => Promise<void>): void {
    this.queue = this.queue.then(async () => {
      if (this.stopped) return;
      try {
        await work();
      } catch (err) {
        this.opts.log.error({ err }, "agent pass failed");
        await this.event({ type: "Warning", reason: "AgentError", message: (err as Error).message });
      }
    });
  }

  private ctx(): ReconcileContext {
    return {
      fs: this.opts.fs,
      stateFile: this.opts.stateFile,
      log: this.opts.log,
      // Only from a status of this very boot: after a reboot the kernel is back to its defaults, and
      // on a replaced machine with the same node name the old status describes another kernel.
      reportedOriginals: async () => {
        const reportedBoot = this.lastStatus?.probe?.bootId;
        return reportedBoot !== undefined && reportedBoot === this.bootId ? this.lastStatus?.originals : undefined;
      },
      bootId: this.bootId,
      onNewBoot: (dropped) =>
        this.event({
          type: "Normal",
          reason: "NewBoot",
          message: `the kernel was rebooted: it starts again from its own values, so the originals of the previous boot were dropped, not restored (${dropped.map((o) => `${o.name}=${o.value}`).join(", ")}); they are read again before the next change`,
        }),
      onOriginalsRecovered: (originals) =>
        this.event({
          type: "Warning",
          reason: "OriginalsRecovered",
          message: `the state file ${this.opts.stateFile} was missing; took the originals back from status: ${originals.map((o) => `${o.name}=${o.value}`).join(", ")}`,
        }),
      ...(this.opts.afterWrite ? { afterWrite: this.opts.afterWrite } : {}),
    };
  }

  private async onDesired(desired: DesiredState): Promise<void> {
    if (desired.rejected !== undefined) {
      // Nothing changes on the node: the previous desired state (if any) stays in effect.
      this.rejected = desired.rejected;
      await this.event({ type: "Warning", reason: "DesiredStateRejected", message: desired.rejected });
      await this.report(this.current ?? { generation: undefined, sysctls: [], deleted: false }, this.appliedGeneration?.complete ?? false);
      return;
    }
    const wasRejected = this.rejected !== undefined;
    this.rejected = undefined;
    const previous = this.current;
    this.current = desired;
    if (desired.status) {
      this.lastStatus = desired.status;
      // An agent restart keeps the baseline its predecessor reported.
      if (this.counterHistory.length === 0 && desired.status.counterHistory) this.counterHistory = [...desired.status.counterHistory];
      if (desired.status.drift && desired.status.drift.count > this.drift.count) this.drift = desired.status.drift;
    }
    const same =
      previous !== undefined &&
      previous.deleted === desired.deleted &&
      previous.generation === desired.generation &&
      JSON.stringify(previous.sysctls) === JSON.stringify(desired.sysctls);
    // The same generation again (e.g. our own status write came back through the watch): nothing
    // to do; an incomplete generation is retried by the periodic check, not by every watch event.
    if (same) {
      // The same desired state as before the rejected one: status says it is in effect again.
      if (wasRejected) await this.report(desired, this.appliedGeneration?.complete ?? false);
      return;
    }
    this.watchCountersUntil = Date.now() + (this.opts.countersWindowMs ?? DEFAULT_COUNTERS_WINDOW_MS);
    await this.pass(desired);
  }

  private async pass(desired: DesiredState): Promise<void> {
    const sysctls = desired.deleted ? [] : desired.sysctls;
    // Until this pass completes no generation counts as applied: a pass that throws is retried every
    // drift interval, and the drift check never enforces (nor reports as applied) an older generation.
    this.appliedGeneration = undefined;
    let result: Awaited<ReturnType<typeof reconcile>>;
    try {
      result = await reconcile(sysctls, this.ctx());
    } catch (err) {
      this.passed = true;
      this.opts.metrics?.passes.inc({ node: this.opts.nodeName, outcome: "error" });
      this.keys = [];
      this.lastDrifted = [];
      await this.report(desired, false, {
        reason: err instanceof StateFileError ? (err.operation === "write" ? "StateFileUnwritable" : "StateFileUnreadable") : "AgentError",
        message: `nothing was applied or restored: ${(err as Error).message}`,
      });
      throw err;
    }
    // A deleted object's status is gone with it: nothing of it may come back as originals later.
    if (desired.deleted) this.lastStatus = undefined;
    this.keys = result.keys;
    this.originals = result.originals;
    this.lastDrifted = [];
    // Incomplete (retried every drift interval): a key not applied, or an original not restored.
    const complete = result.applied && !result.keys.some((k) => k.result === "RestoreFailed");
    this.appliedGeneration = { desired: sysctls, complete };
    this.passed = true;
    this.opts.metrics?.passes.inc({ node: this.opts.nodeName, outcome: complete ? "applied" : "incomplete" });
    this.opts.metrics?.recordKeys(result.keys);
    await this.report(desired, result.applied);
    for (const e of passEvents(result.keys, result.changed, desired.generation)) await this.event(e);
  }

  private async periodic(): Promise<void> {
    const desired = this.current;
    if (!desired) return;
    if (!this.appliedGeneration?.complete) {
      await this.pass(desired);
      return;
    }
    const found = await checkDrift(this.appliedGeneration.desired, this.ctx());
    // Drifted stays True for the rest of this generation: someone is fighting the desired values.
    this.lastDrifted = [...new Set([...this.lastDrifted, ...found.drifted])];
    if (found.drifted.length > 0) {
      this.opts.metrics?.driftCorrections.inc({ node: this.opts.nodeName }, found.drifted.length);
      this.drift = { count: this.drift.count + found.drifted.length, lastDetectedTime: new Date().toISOString(), lastKeys: found.drifted };
      const byName = new Map(found.keys.map((k) => [k.name, k]));
      this.keys = this.keys.map((k) => byName.get(k.name) ?? k);
      await this.event({
        type: "Warning",
        reason: "DriftCorrected",
        message: `changed by someone else and re-applied: ${found.keys.map((k) => `${k.name} (${k.message ?? k.result})`).join("; ")}`,
      });
    }
    const failed = found.keys.some((k) => k.result === "Failed");
    if (failed) this.appliedGeneration = { ...this.appliedGeneration, complete: false };
    await this.report(desired, !failed);
  }

  private async report(desired: DesiredState, applied: boolean, failure?: AgentView["failure"]): Promise<void> {
    if (desired.deleted && !this.opts.backend.keepsStatusWhenDeleted) return;
    const now = new Date();
    const view: AgentView = {
      generation: desired.generation,
      deleted: desired.deleted,
      ...(this.rejected !== undefined ? { rejected: this.rejected } : {}),
      desiredCount: desired.sysctls.length,
      keys: this.keys,
      originals: this.originals,
      applied,
      probe: await probeNode(this.opts.fs, now, (name, err) => this.opts.log.warn({ sysctl: name, err }, "probe: key refused, reported as not present")),
      counters: await this.sampleCounters(now),
      counterHistory: this.counterHistory,
      drift: this.drift,
      lastDrifted: this.lastDrifted,
      ...(failure ? { failure } : {}),
    };
    this.opts.metrics?.recordTcpCounters(view.counters);
    const status = agentStatus(this.lastStatus, view, now);
    // Written when something changed, and the counters alone at a bounded, jittered cadence (status-writes.ts).
    const why = this.statusWrites.reason(status, now.getTime());
    if (why === undefined) return;
    try {
      await this.opts.backend.writeStatus(status);
      this.statusWrites.written(status, now.getTime());
      this.opts.log.debug({ why }, "status written");
      this.lastStatus = status;
      this.opts.metrics?.statusWrites.inc({ node: this.opts.nodeName, outcome: "ok" });
    } catch (err) {
      this.opts.metrics?.statusWrites.inc({ node: this.opts.nodeName, outcome: "error" });
      this.opts.log.error({ err }, "could not write status");
    }
  }

  /** Reads the counters and keeps a sample in the history. */
  private async sampleCounters(now: Date): Promise<TcpCounters> {
    const counters = await readTcpCounters(this.opts.procNet, now);
    this.counterHistory = appendSample(this.counterHistory, toSample(counters, this.bootId));
    return counters;
  }

  private scheduleSample(): void {
    if (this.stopped) return;
    this.countersTimer = setTimeout(
      () => {
        this.enqueue(() => this.sampleTick());
        this.scheduleSample();
      },
      jitteredDelay(this.opts.countersIntervalMs ?? DEFAULT_COUNTERS_INTERVAL_MS),
    );
    this.countersTimer.unref?.();
  }

  /**
   * A sample into the history; written to status on its own only while a recent change is watched
   * (--counters-window), so a rollout's soak sees fresh rates. Outside that window it waits for the
   * next status write (a change, or the counters report interval).
   */
  private async sampleTick(): Promise<void> {
    const now = new Date();
    const counters = await this.sampleCounters(now);
    const desired = this.current;
    if (!desired || desired.deleted || !this.lastStatus || now.getTime() > this.watchCountersUntil) return;
    const status: NodeStateStatus = { ...this.lastStatus, counters, counterHistory: this.counterHistory };
    try {
      await this.opts.backend.writeStatus(status);
      this.statusWrites.written(status, now.getTime());
      this.lastStatus = status;
    } catch (err) {
      this.opts.log.error({ err }, "could not write counters");
    }
  }

  private async event(e: AgentEvent): Promise<void> {
    this.opts.log.info({ event: e }, "event");
    try {
      await this.opts.backend.emitEvent(e);
    } catch (err) {
      this.opts.log.warn({ err, event: e }, "could not emit event");
    }
  }
}

function passEvents(keys: readonly KeyResult[], changed: readonly string[], generation: number | undefined): AgentEvent[] {
  const gen = generation === undefined ? "" : ` (generation ${generation})`;
  const list = (pick: (k: KeyResult) => boolean) =>
    keys
      .filter(pick)
      .map((k) => `${k.name}${k.message ? `: ${k.message}` : ""}`)
      .join("; ");
  const events: AgentEvent[] = [];
  const refused = list((k) => k.result === "Refused");
  if (refused) events.push({ type: "Warning", reason: "SysctlRefused", message: `refused${gen}: ${refused}` });
  const failed = list((k) => k.result === "Failed" || k.result === "RolledBack");
  if (failed) events.push({ type: "Warning", reason: "ApplyFailed", message: `not applied${gen}: ${failed}` });
  const restoreFailed = list((k) => k.result === "RestoreFailed");
  if (restoreFailed) events.push({ type: "Warning", reason: "RestoreFailed", message: restoreFailed });
  const restored = list((k) => k.result === "Restored");
  if (restored) events.push({ type: "Normal", reason: "Restored", message: `original values restored: ${restored}` });
  const written = keys.filter((k) => k.result === "Applied" && changed.includes(k.name));
  if (!refused && !failed && written.length > 0) {
    events.push({
      type: "Normal",
      reason: "Applied",
      message: `applied and verified${gen}: ${written.map((k) => `${k.name}=${k.actual ?? k.desired ?? ""}`).join(", ")}`,
    });
  }
  return events;
}
