import type { CounterSample, Drift, KeyResult, NodeProbe, NodeStateStatus, OriginalValue, TcpCounters } from "../api/v1alpha1/node-state.js";
import type { Condition } from "../api/v1alpha1/meta.js";
import { setCondition } from "../kube/conditions.js";
import { SYSCTL_VALUE_MAX } from "../api/v1alpha1/policy.js";

/** Everything the agent knows after its latest pass and drift check; turned into status by one function. */
export interface AgentView {
  readonly generation: number | undefined;
  /** The desired state is gone: keys hold the restores, and nothing is desired. */
  readonly deleted?: boolean;
  /** Why the latest desired state was rejected (invalid, or for another node); the previous one stays in effect. */
  readonly rejected?: string;
  readonly desiredCount: number;
  readonly keys: readonly KeyResult[];
  readonly originals: readonly OriginalValue[];
  readonly applied: boolean;
  readonly probe?: NodeProbe;
  readonly counters?: TcpCounters;
  /** The latest health-counter samples, oldest first (bounded by the caller). */
  readonly counterHistory?: readonly CounterSample[];
  readonly drift: Drift;
  /** Keys found changed by someone else since this generation was applied (empty: none). */
  readonly lastDrifted: readonly string[];
  /** The pass could not run at all (e.g. the state file is unreadable): what Applied and Degraded say. */
  readonly failure?: { readonly reason: string; readonly message: string };
}

const PROBLEMS = new Set<KeyResult["result"]>(["Failed", "Refused", "RolledBack", "RestoreFailed"]);

function names(keys: readonly KeyResult[], pick: (r: KeyResult) => boolean): string {
  return keys
    .filter(pick)
    .map((k) => `${k.name} (${k.result}${k.message ? `: ${k.message}` : ""})`)
    .join("; ");
}

/** The status conditions: Applied, Degraded, Drifted, each with observedGeneration. */
export function agentConditions(previous: readonly Condition[] | undefined, view: AgentView, now: Date): Condition[] {
  const observedGeneration = view.generation;
  const base = observedGeneration === undefined ? {} : { observedGeneration };
  let list = [...(previous ?? [])];
  const problems = view.keys.filter((k) => PROBLEMS.has(k.result));
  const refused = problems.some((k) => k.result === "Refused");

  if (view.failure) {
    list = setCondition(list, { type: "Applied", status: "False", reason: view.failure.reason, message: view.failure.message, ...base }, now);
    list = setCondition(list, { type: "Degraded", status: "True", reason: view.failure.reason, message: view.failure.message, ...base }, now);
    return setCondition(list, { type: "Drifted", status: "False", reason: "NoDrift", message: "no generation is applied", ...base }, now);
  }
  if (view.rejected !== undefined) {
    const gen = view.generation === undefined ? "" : ` (generation ${view.generation})`;
    const previous =
      view.desiredCount > 0 && view.applied
        ? `the previous desired state${gen} stays in effect: ${view.desiredCount} sysctl(s)`
        : view.desiredCount > 0
          ? `the previous desired state${gen} is not fully applied either`
          : "nothing is applied from it";
    const message = `the latest desired state was rejected and nothing of it is applied (${previous}): ${view.rejected}`;
    list = setCondition(list, { type: "Applied", status: "False", reason: "DesiredStateRejected", message, ...base }, now);
    list = setCondition(list, { type: "Degraded", status: "True", reason: "DesiredStateRejected", message, ...base }, now);
    return setCondition(list, driftCondition(view, base), now);
  }
  if (view.deleted) {
    const restored = view.keys.filter((k) => k.result === "Restored").map((k) => `${k.name}=${k.actual ?? k.desired ?? ""}`);
    const stuck = view.keys.filter((k) => k.result === "RestoreFailed");
    const message =
      `the desired state was deleted: nothing is desired on this node; ` +
      (restored.length > 0 ? `original value(s) restored: ${restored.join(", ")}` : "no original was left to restore") +
      (stuck.length > 0 ? `; not restored yet: ${names(stuck, () => true)}` : "");
    list = setCondition(
      list,
      stuck.length === 0
        ? { type: "Applied", status: "True", reason: "DesiredStateDeleted", message, ...base }
        : { type: "Applied", status: "False", reason: "RestoreFailed", message, ...base },
      now,
    );
    list = setCondition(
      list,
      stuck.length === 0
        ? { type: "Degraded", status: "False", reason: "AsDesired", message: "every original was restored", ...base }
        : { type: "Degraded", status: "True", reason: "RestoreFailed", message, ...base },
      now,
    );
    return setCondition(list, { type: "Drifted", status: "False", reason: "NoDrift", message: "nothing is desired, so nothing can drift", ...base }, now);
  }
  list = setCondition(
    list,
    view.applied
      ? {
          type: "Applied",
          status: "True",
          reason: view.desiredCount === 0 ? "NothingDesired" : "AllKeysApplied",
          message: view.desiredCount === 0 ? "no sysctls are desired on this node" : `${view.desiredCount} desired sysctl(s) in effect and verified`,
          ...base,
        }
      : {
          type: "Applied",
          status: "False",
          reason: refused ? "Refused" : "ApplyFailed",
          message: names(view.keys, (k) => PROBLEMS.has(k.result) || k.result === "Pending") || "not applied",
          ...base,
        },
    now,
  );
  list = setCondition(
    list,
    problems.length > 0
      ? {
          type: "Degraded",
          status: "True",
          reason: refused ? "Refused" : problems.some((k) => k.result === "RestoreFailed") ? "RestoreFailed" : "ApplyFailed",
          message: names(problems, () => true),
          ...base,
        }
      : { type: "Degraded", status: "False", reason: "AsDesired", message: "no key failed or was refused", ...base },
    now,
  );
  return setCondition(list, driftCondition(view, base), now);
}

function driftCondition(view: AgentView, base: { observedGeneration?: number }): Omit<Condition, "lastTransitionTime"> {
  return view.lastDrifted.length > 0
    ? {
        type: "Drifted",
        status: "True",
        reason: "DriftCorrected",
        message: `changed by someone else since this generation was applied, and re-applied: ${view.lastDrifted.join(", ")}`,
        ...base,
      }
    : {
        type: "Drifted",
        status: "False",
        reason: "NoDrift",
        message: "no desired key has been changed by someone else since this generation was applied",
        ...base,
      };
}

const KEY_MESSAGE_MAX = 1024;
const CONDITION_MESSAGE_MAX = 32768;

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/**
 * A key result within the API's limits: a status that breaks one limit is refused whole, and the
 * agent would then report nothing at all (e.g. when a generation with many refused keys is blocked).
 * A value too long to show (a long ip_local_reserved_ports) is left out rather than cut.
 */
function fitKey(k: KeyResult): KeyResult {
  const { desired, actual, message, ...rest } = k;
  return {
    ...rest,
    ...(desired !== undefined && desired.length <= SYSCTL_VALUE_MAX ? { desired } : {}),
    ...(actual !== undefined && actual.length <= SYSCTL_VALUE_MAX ? { actual } : {}),
    ...(message !== undefined ? { message: clip(message, KEY_MESSAGE_MAX) } : {}),
  };
}

export function agentStatus(previous: NodeStateStatus | undefined, view: AgentView, now: Date): NodeStateStatus {
  const status: NodeStateStatus = {
    keys: view.keys.map(fitKey),
    originals: [...view.originals],
    drift: view.drift,
    conditions: agentConditions(previous?.conditions, view, now).map((c) => ({ ...c, message: clip(c.message, CONDITION_MESSAGE_MAX) })),
  };
  if (view.generation !== undefined) status.observedGeneration = view.generation;
  if (view.probe) status.probe = view.probe;
  if (view.counters) status.counters = view.counters;
  if (view.counterHistory && view.counterHistory.length > 0) status.counterHistory = [...view.counterHistory];
  return status;
}
