import type { DesiredSysctl, KeyResult, OriginalValue } from "../api/v1alpha1/node-state.js";
import { SYSCTL_VALUE_MAX } from "../api/v1alpha1/policy.js";
import type { Logger } from "../log.js";
import { parseValue, type SysctlSpec } from "../rules/index.js";
import { writeInKernelOrder } from "./kernel-order.js";
import { emptyState, findOriginal, readStateFile, saveStateFile, withOriginals, withoutOriginal, type StateFile } from "./state-file.js";
import { allowSysctl, canonicalSysctlValue, sameSysctlValue, SysctlIoError, SysctlRefusedError, type SysctlFs } from "./sysctl-fs.js";

/**
 * One reconcile pass: bring the namespace's sysctls to the desired set of one generation.
 *
 * 1. Keys that left the desired set are written back to their recorded originals; a key leaves the
 *    state file only after its original was written and read back.
 * 2. Every desired key is checked before anything is written: allowlisted name, value in the
 *    catalog's grammar, present on this kernel. One refusal or failure and the generation is not
 *    applied at all.
 * 3. The value each key has before this operator first changes it is recorded in the state file
 *    (durably) before the first write.
 * 4. Keys are written one by one and read back, in an order the kernel accepts (a write it refuses
 *    with EINVAL is tried again after the others: kernel-order.ts). If one fails, the keys already
 *    changed in this pass are put back to the values they had before it (all-or-nothing per
 *    generation), and a restore of step 1 that the kernel refused is tried once more after the
 *    writes.
 * 5. After any failed write the key is read back, and what it reads is the truth: a refused write of a
 *    vector (tcp_rmem) can leave its first fields written, so such a key is put back too, and every
 *    result reports what the key holds.
 */

/** What a key reads back after a write failed, when it could be read. */
function readBackOf(err: unknown): string | undefined {
  return err instanceof SysctlIoError ? err.readBack : undefined;
}

/** What a pass needs of a desired entry: its name and value (the policy that won it is the controller's business). */
export type AgentSysctl = Pick<DesiredSysctl, "name" | "value"> & Partial<Pick<DesiredSysctl, "policy" | "policyGeneration">>;

export interface ReconcileContext {
  readonly fs: SysctlFs;
  readonly stateFile: string;
  readonly log: Logger;
  readonly now?: () => Date;
  /**
   * The originals this agent last reported in status (its own earlier record). Used only when the
   * state file is missing, so a lost hostPath file does not make the agent take values it set itself
   * for the originals.
   */
  readonly reportedOriginals?: () => Promise<readonly OriginalValue[] | undefined>;
  /** This kernel boot's id (kernel/random/boot_id); undefined when it cannot be read. */
  readonly bootId?: string | undefined;
  /** Told which originals of a previous boot were dropped. */
  readonly onNewBoot?: (dropped: readonly OriginalValue[]) => Promise<void>;
  /** Told which originals were taken back from status into a missing state file. */
  readonly onOriginalsRecovered?: (originals: readonly OriginalValue[]) => Promise<void>;
  /** Called after each sysctl write of the apply step (tests use it to pause mid-generation). */
  readonly afterWrite?: (sysctlName: string, writesSoFar: number) => Promise<void>;
}

export interface PassResult {
  readonly keys: KeyResult[];
  readonly originals: OriginalValue[];
  /** Every desired key is in effect (Applied or Skipped). */
  readonly applied: boolean;
  /** Names written in this pass (apply and restore). */
  readonly changed: string[];
}

type Planned =
  | { readonly kind: "done"; readonly result: KeyResult }
  | { readonly kind: "set"; readonly name: string; readonly spec: SysctlSpec; readonly desired: string; readonly current: string };

async function planKey(entry: AgentSysctl, fs: SysctlFs): Promise<Planned> {
  const allowed = allowSysctl(entry.name);
  if (!allowed.ok) return { kind: "done", result: { name: entry.name, desired: entry.value, result: "Refused", message: allowed.reason } };
  const parsed = parseValue(allowed.spec.grammar, entry.value);
  if (!parsed.ok) return { kind: "done", result: { name: entry.name, desired: entry.value, result: "Refused", message: `value refused: ${parsed.reason}` } };
  const desired = parsed.normalized;
  let present: boolean;
  try {
    present = await fs.exists(entry.name);
  } catch (err) {
    return {
      kind: "done",
      result: { name: entry.name, desired, result: err instanceof SysctlRefusedError ? "Refused" : "Failed", message: (err as Error).message },
    };
  }
  if (!present) {
    if (allowed.spec.absentEquivalent !== undefined && allowed.spec.absentEquivalent === desired) {
      return {
        kind: "done",
        result: { name: entry.name, desired, result: "Skipped", message: `this kernel has no ${entry.name}; it behaves as ${desired} already` },
      };
    }
    const why = allowed.spec.requiresModule ? ` (it needs the ${allowed.spec.requiresModule} module)` : "";
    return { kind: "done", result: { name: entry.name, desired, result: "Failed", message: `this kernel has no ${entry.name}${why}` } };
  }
  try {
    const current = await fs.read(entry.name);
    if (current.length > SYSCTL_VALUE_MAX) {
      // It could not be kept as the original (state file and status hold 256 characters): not touched.
      return {
        kind: "done",
        result: {
          name: entry.name,
          desired,
          result: "Failed",
          message: `its current value is ${current.length} characters long, more than the ${SYSCTL_VALUE_MAX} that can be recorded as its original; not changed`,
        },
      };
    }
    return { kind: "set", name: entry.name, spec: allowed.spec, desired, current };
  } catch (err) {
    return {
      kind: "done",
      result: { name: entry.name, desired, result: err instanceof SysctlRefusedError ? "Refused" : "Failed", message: (err as Error).message },
    };
  }
}

function isBlocking(r: KeyResult): boolean {
  return r.result === "Refused" || r.result === "Failed";
}

/**
 * Writes back the originals of keys no longer desired, in an order the kernel accepts (see
 * kernel-order.ts). A key leaves the state file only after its original was written and read back.
 * Returns results and the updated state.
 */
async function restoreUndesired(
  state: StateFile,
  desiredNames: ReadonlySet<string>,
  ctx: ReconcileContext,
  changed: string[],
): Promise<{ state: StateFile; results: KeyResult[] }> {
  let next = state;
  const outcome = await writeInKernelOrder(
    state.originals.filter((o) => !desiredNames.has(o.name)),
    async (original) => {
      const actual = await ctx.fs.write(original.name, original.value);
      changed.push(original.name);
      next = withoutOriginal(next, original.name);
      await saveStateFile(ctx.stateFile, next);
      ctx.log.info({ sysctl: original.name, value: original.value }, "restored original value");
      return actual;
    },
    { stopOnHardFailure: false },
  );
  const byName = new Map<string, KeyResult>();
  for (const { item: original, actual } of outcome.done) {
    byName.set(original.name, {
      name: original.name,
      desired: original.value,
      actual,
      result: "Restored",
      message: `restored the original value recorded at ${original.recordedAt}`,
    });
  }
  for (const { item: original, err } of outcome.failed) {
    const actual = readBackOf(err);
    byName.set(original.name, {
      name: original.name,
      desired: original.value,
      ...(actual === undefined ? {} : { actual }),
      result: "RestoreFailed",
      message: (err as Error).message,
    });
    ctx.log.error({ sysctl: original.name, err }, "could not restore original value; keeping it in the state file");
  }
  // One result per key, in the state file's order.
  const results = state.originals.flatMap((o) => byName.get(o.name) ?? []);
  return { state: next, results };
}

/**
 * The state file, or when it is missing (first start, or a lost hostPath) a new one: empty on a
 * first start, and holding the originals last reported in status when there are any (of this boot),
 * written to disk before anything else happens. Without this, a lost file would make the agent read
 * back the values it had set and record those as the originals, losing the real ones.
 *
 * Originals belong to one boot of the kernel. After a reboot the kernel starts again from its own
 * values (defaults and the OS's sysctl.conf, maybe of a newer kernel), and those are what the agent
 * replaces from then on: the previous boot's originals are dropped, not "restored" over them, and
 * the originals are read afresh before the next change.
 */
async function loadOrRecoverState(ctx: ReconcileContext): Promise<StateFile> {
  const boot = ctx.bootId;
  const stamp = (state: StateFile): StateFile => (boot === undefined ? state : { ...state, bootId: boot });
  const onDisk = await readStateFile(ctx.stateFile);
  if (onDisk) {
    if (boot === undefined || onDisk.bootId === boot) return onDisk;
    if (onDisk.bootId === undefined) {
      // Written by an agent that did not record the boot: taken to be this boot's.
      const stamped = stamp(onDisk);
      await saveStateFile(ctx.stateFile, stamped);
      return stamped;
    }
    const fresh = stamp(emptyState(onDisk.nodeName));
    await saveStateFile(ctx.stateFile, fresh);
    if (onDisk.originals.length > 0) {
      ctx.log.warn(
        { stateFile: ctx.stateFile, previousBoot: onDisk.bootId, boot, dropped: onDisk.originals },
        "the kernel was rebooted; the previous boot's originals are dropped and read again before the next change",
      );
      if (ctx.onNewBoot) await ctx.onNewBoot(onDisk.originals);
    }
    return fresh;
  }
  const reported = (await ctx.reportedOriginals?.()) ?? [];
  if (reported.length === 0) return stamp(emptyState());
  const state = stamp(withOriginals(emptyState(), reported));
  await saveStateFile(ctx.stateFile, state);
  ctx.log.warn({ stateFile: ctx.stateFile, keys: reported.map((o) => o.name) }, "state file missing; took the originals back from the last reported status");
  if (ctx.onOriginalsRecovered) await ctx.onOriginalsRecovered(reported);
  return state;
}

export async function reconcile(desiredList: readonly AgentSysctl[], ctx: ReconcileContext): Promise<PassResult> {
  const now = ctx.now ?? (() => new Date());
  const changed: string[] = [];
  let state = await loadOrRecoverState(ctx);

  // A name listed twice is ambiguous: refuse it (one result per name, as the status list map wants).
  const seen = new Set<string>();
  const twice = new Set<string>();
  for (const entry of desiredList) (seen.has(entry.name) ? twice : seen).add(entry.name);
  const desired = desiredList.filter((e) => !twice.has(e.name));
  const results: KeyResult[] = [...twice].map((name) => ({ name, result: "Refused", message: "the name appears more than once in the desired list" }));

  let restored = await restoreUndesired(state, seen, ctx, changed);
  state = restored.state;
  const restoredCount = changed.length;

  const planned: Planned[] = [];
  for (const entry of desired) planned.push(await planKey(entry, ctx.fs));
  const blocking = [...results.map((r) => r.name), ...planned.flatMap((p) => (p.kind === "done" && isBlocking(p.result) ? [p.result.name] : []))];

  // Record originals (durably) before the first write of any key.
  const toRecord: OriginalValue[] = [];
  for (const p of planned) {
    if (p.kind === "set" && !findOriginal(state, p.name)) toRecord.push({ name: p.name, value: p.current, recordedAt: now().toISOString() });
  }
  if (blocking.length === 0 && toRecord.length > 0) {
    state = withOriginals(state, toRecord);
    await saveStateFile(ctx.stateFile, state);
    ctx.log.info({ keys: toRecord.map((o) => o.name) }, "recorded original values before the first change");
  }

  const applyResults: KeyResult[] = [];
  if (blocking.length > 0) {
    const why = `not applied: this generation is refused as a whole because of ${blocking.join(", ")}`;
    for (const p of planned) {
      if (p.kind === "done") applyResults.push(p.result);
      else if (sameSysctlValue(p.current, p.desired, p.spec))
        applyResults.push({ name: p.name, desired: p.desired, actual: p.current, result: "Applied", message: "already in effect" });
      else applyResults.push({ name: p.name, desired: p.desired, actual: p.current, result: "Pending", message: why });
    }
  } else {
    const toWrite: Extract<Planned, { kind: "set" }>[] = [];
    const byName = new Map<string, KeyResult>();
    for (const p of planned) {
      if (p.kind === "done") byName.set(p.result.name, p.result);
      else if (sameSysctlValue(p.current, p.desired, p.spec))
        byName.set(p.name, { name: p.name, desired: p.desired, actual: p.current, result: "Applied", message: "already in effect" });
      else toWrite.push(p);
    }
    let writes = 0;
    const outcome = await writeInKernelOrder(toWrite, (p) => ctx.fs.write(p.name, p.desired), {
      stopOnHardFailure: true,
      afterEach: async (p, actual) => {
        changed.push(p.name);
        byName.set(p.name, { name: p.name, desired: p.desired, actual, result: "Applied" });
        ctx.log.info({ sysctl: p.name, from: p.current, to: actual }, "applied");
        writes++;
        if (ctx.afterWrite) await ctx.afterWrite(p.name, writes);
      },
    });
    const failedAt = outcome.failed[0]?.item.name;
    // A failed write that still changed the key (a vector's first fields) is put back like a written one.
    const partlyWritten: { item: (typeof toWrite)[number]; actual: string; err: unknown }[] = [];
    for (const { item: p, err } of outcome.failed) {
      const actual = readBackOf(err);
      byName.set(p.name, {
        name: p.name,
        desired: p.desired,
        ...(actual === undefined ? {} : { actual }),
        result: err instanceof SysctlRefusedError ? "Refused" : "Failed",
        message: (err as Error).message,
      });
      ctx.log.error({ sysctl: p.name, err, readBack: actual }, "apply failed; rolling back the keys changed in this pass");
      if (actual !== undefined && !sameSysctlValue(actual, p.current, p.spec)) partlyWritten.push({ item: p, actual, err });
    }
    for (const p of outcome.notAttempted) {
      byName.set(p.name, {
        name: p.name,
        desired: p.desired,
        actual: p.current,
        result: "Pending",
        message: `not applied: ${failedAt ?? "another key"} failed in this pass`,
      });
    }
    if (failedAt !== undefined) {
      // Back to the values of before this pass, newest first (the reverse of an order the kernel took);
      // a key the failed write changed in part goes first, it was written last.
      const partly = new Set(partlyWritten.map((w) => w.item.name));
      const rollback = await writeInKernelOrder([...partlyWritten, ...[...outcome.done].reverse()], ({ item: p }) => ctx.fs.write(p.name, p.current), {
        stopOnHardFailure: false,
      });
      for (const { item, actual } of rollback.done) {
        const p = item.item;
        if (partly.has(p.name)) {
          byName.set(p.name, {
            name: p.name,
            desired: p.desired,
            actual,
            result: "Failed",
            message: `${(partlyWritten.find((w) => w.item.name === p.name)?.err as Error).message}; the refused write had changed it to ${item.actual}, so it was put back to ${p.current}`,
          });
        } else {
          byName.set(p.name, {
            name: p.name,
            desired: p.desired,
            actual,
            result: "RolledBack",
            message: `put back to ${p.current} because ${failedAt} failed`,
          });
        }
      }
      for (const { item, err } of rollback.failed) {
        const p = item.item;
        const actual = readBackOf(err) ?? (partly.has(p.name) ? item.actual : undefined);
        const what = partly.has(p.name)
          ? `the refused write changed it to ${item.actual}, and it could not be put back to ${p.current}`
          : `applied, then could not be rolled back to ${p.current}`;
        byName.set(p.name, {
          name: p.name,
          desired: p.desired,
          ...(actual === undefined ? {} : { actual }),
          result: "Failed",
          message: `${what}: ${(err as Error).message}`,
        });
        ctx.log.error({ sysctl: p.name, err, readBack: actual }, "rollback failed");
      }
    }
    for (const p of planned) {
      const r = byName.get(p.kind === "done" ? p.result.name : p.name);
      if (r) applyResults.push(r);
    }
  }

  // A restore the kernel refused may be valid now that this pass's values are in (e.g. a port range
  // restored below an ip_unprivileged_port_start that this pass lowered): try those once more.
  if (restored.results.some((r) => r.result === "RestoreFailed") && changed.length > restoredCount) {
    const again = await restoreUndesired(state, seen, ctx, changed);
    state = again.state;
    const retried = new Map(again.results.map((r) => [r.name, r]));
    restored = { ...restored, results: restored.results.map((r) => retried.get(r.name) ?? r) };
  }

  const keys = [...results, ...applyResults, ...restored.results];
  const applied = [...results, ...applyResults].every((r) => r.result === "Applied" || r.result === "Skipped");
  return { keys, originals: state.originals, applied, changed };
}

export interface DriftResult {
  /** Desired keys found changed by someone else (and re-applied when possible). */
  readonly drifted: string[];
  /** Results of the keys that drifted. */
  readonly keys: KeyResult[];
}

/**
 * Re-reads every desired key that the last pass applied; a key that differs was changed behind the
 * agent's back: write the desired value again and report it.
 */
export async function checkDrift(applied: readonly AgentSysctl[], ctx: ReconcileContext): Promise<DriftResult> {
  const drifted: { name: string; desired: string; current: string }[] = [];
  const keys: KeyResult[] = [];
  for (const entry of applied) {
    const allowed = allowSysctl(entry.name);
    if (!allowed.ok) continue;
    const desired = canonicalSysctlValue(allowed.spec, entry.value);
    let current: string;
    try {
      if (!(await ctx.fs.exists(entry.name))) continue;
      current = await ctx.fs.read(entry.name);
    } catch (err) {
      keys.push({ name: entry.name, desired, result: "Failed", message: `drift check could not read it: ${(err as Error).message}` });
      continue;
    }
    if (sameSysctlValue(current, desired, allowed.spec)) continue;
    drifted.push({ name: entry.name, desired, current });
  }
  // Re-applied in an order the kernel accepts: a `sysctl -p` can put back a port range and an
  // ip_unprivileged_port_start that only go back one way round (kernel-order.ts).
  const outcome = await writeInKernelOrder(drifted, (d) => ctx.fs.write(d.name, d.desired), { stopOnHardFailure: false });
  for (const { item: d, actual } of outcome.done) {
    keys.push({ name: d.name, desired: d.desired, actual, result: "Applied", message: `drift: found ${d.current}, re-applied` });
    ctx.log.warn({ sysctl: d.name, found: d.current, desired: d.desired }, "drift corrected");
  }
  for (const { item: d, err } of outcome.failed) {
    keys.push({
      name: d.name,
      desired: d.desired,
      actual: readBackOf(err) ?? d.current,
      result: "Failed",
      message: `drift: found ${d.current}, re-apply failed: ${(err as Error).message}`,
    });
    ctx.log.error({ sysctl: d.name, err }, "drift: re-apply failed");
  }
  return { drifted: drifted.map((d) => d.name), keys };
}
