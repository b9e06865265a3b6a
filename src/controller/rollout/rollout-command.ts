import { parseArgs } from "node:util";
import { CustomObjectsApi, type KubeConfig } from "@kubernetes/client-node";
import { API_GROUP, API_VERSION, POLICY_PLURAL } from "../../api/v1alpha1/group.js";
import { policySchema, type Policy } from "../../api/v1alpha1/policy.js";
import { PAUSED_ANNOTATION, RESUME_ANNOTATION } from "../../api/v1alpha1/rollout-status.js";
import { describeApiError, isNotFound } from "../../kube/api-error.js";
import { loadKubeConfig, makeApiClient } from "../../kube/client.js";
import { mergePatch } from "../../kube/patch.js";
import { outcome, PlainPrinter, rolloutFrame } from "./status-view.js";

/** Where the command reads and writes (the process's streams; a test may pass its own). */
export interface RolloutIo {
  readonly stdout: { write(text: string): void; readonly isTTY?: boolean | undefined };
  readonly stderr: { write(text: string): void };
  readonly env: Readonly<Record<string, string | undefined>>;
}

/** Usage or input error: "tcp-tuning rollout: message", exit 2. */
export class RolloutUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RolloutUsageError";
  }
}
export const EXIT_INPUT = 2;

export const ROLLOUT_USAGE = `Usage: tcp-tuning rollout status ttp/NAME [--watch] [--interval 1s] [--timeout DUR] [--kubeconfig FILE]
       tcp-tuning rollout pause ttp/NAME [--kubeconfig FILE]
       tcp-tuning rollout resume ttp/NAME [--kubeconfig FILE]

status   where the policy's rollout stands: a bar per wave, the failed nodes and why.
         Exit 0 when Ready, 1 when Degraded (the rollout stopped on a failure, or finished with
         failed nodes), 3 when still in progress (without --watch, or at --timeout), 2 on errors.
         --watch follows it until Ready or Degraded; on a terminal the view is redrawn in place,
         otherwise a plain line is printed each time the rollout moves.
pause    sets ${PAUSED_ANNOTATION}=true: the wave in flight lands and is judged, no new wave starts.
resume   removes ${PAUSED_ANNOTATION} and sets ${RESUME_ANNOTATION} to a new value: a rollout that a
         failure stopped (pauseOnFailure) goes on with its next wave.

Installed as kubectl-tcp_tuning on the PATH it runs as \`kubectl tcp-tuning rollout ...\`.
`;

/** Still progressing (no --watch, or --timeout reached). */
export const EXIT_PROGRESSING = 3;
const API_TIMEOUT_MS = 15_000;

function policyName(ref: string | undefined): string {
  if (!ref) throw new RolloutUsageError("name the policy: ttp/NAME");
  const m = /^(?:(?:ttp|tcptuningpolic(?:y|ies)(?:\.tcptuning\.io)?)\/)?([a-z0-9]([-a-z0-9.]*[a-z0-9])?)$/.exec(ref);
  if (!m?.[1]) throw new RolloutUsageError(`not a policy reference: ${JSON.stringify(ref)} (expected ttp/NAME)`);
  return m[1];
}

function parseDurationMs(text: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) throw new RolloutUsageError(`${flag}: not a duration: ${JSON.stringify(text)} (e.g. 500ms, 1s, 10m)`);
  const n = Number(m[1]);
  return Math.round(m[2] === "ms" ? n : m[2] === "m" ? n * 60_000 : m[2] === "h" ? n * 3_600_000 : n * 1000);
}

/** The policy, or undefined when it does not exist (any more). */
export async function getPolicy(kc: KubeConfig, name: string): Promise<Policy | undefined> {
  const api = makeApiClient(kc, CustomObjectsApi, { timeoutMs: API_TIMEOUT_MS });
  try {
    const raw: unknown = await api.getClusterCustomObject({ group: API_GROUP, version: API_VERSION, plural: POLICY_PLURAL, name });
    const parsed = policySchema.safeParse(raw);
    if (!parsed.success) throw new Error(`ttp/${name} does not match the schema: ${parsed.error.message}`);
    return parsed.data;
  } catch (err) {
    if (isNotFound(err)) return undefined;
    if (err instanceof Error && !("code" in err)) throw err;
    throw new Error(`get ttp/${name}: ${describeApiError(err)}`, { cause: err });
  }
}

async function annotate(kc: KubeConfig, name: string, annotations: Record<string, string | null>): Promise<void> {
  const api = makeApiClient(kc, CustomObjectsApi, { timeoutMs: API_TIMEOUT_MS });
  try {
    await api.patchClusterCustomObject(
      { group: API_GROUP, version: API_VERSION, plural: POLICY_PLURAL, name, body: { metadata: { annotations } } },
      mergePatch(),
    );
  } catch (err) {
    if (isNotFound(err)) throw new RolloutUsageError(`ttp/${name} not found`);
    throw new Error(`annotate ttp/${name}: ${describeApiError(err)}`, { cause: err });
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface RolloutDeps {
  readonly kubeConfig?: KubeConfig;
  readonly now?: () => Date;
}

/** `tcp-tuning rollout ...`: returns the exit code. */
export async function runRollout(argv: readonly string[], io: RolloutIo, deps: RolloutDeps = {}): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === "--help" || sub === "-h" || sub === "help") {
    (sub === undefined ? io.stderr : io.stdout).write(ROLLOUT_USAGE);
    return sub === undefined ? EXIT_INPUT : 0;
  }
  let values: { watch?: boolean; interval?: string; timeout?: string; kubeconfig?: string; help?: boolean };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: [...rest],
      options: {
        watch: { type: "boolean", short: "w" },
        interval: { type: "string" },
        timeout: { type: "string" },
        kubeconfig: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: true,
    }));
  } catch (err) {
    throw new RolloutUsageError((err as Error).message);
  }
  if (values.help) {
    io.stdout.write(ROLLOUT_USAGE);
    return 0;
  }
  if (positionals.length !== 1) throw new RolloutUsageError(`rollout ${sub}: name exactly one policy (ttp/NAME)`);
  const name = policyName(positionals[0]);
  const kc = deps.kubeConfig ?? loadKubeConfig(values.kubeconfig ?? io.env["KUBECONFIG"]?.split(":")[0]);
  const now = deps.now ?? (() => new Date());

  switch (sub) {
    case "pause":
      await annotate(kc, name, { [PAUSED_ANNOTATION]: "true" });
      io.stdout.write(`ttp/${name} paused: no new wave starts until \`tcp-tuning rollout resume ttp/${name}\`\n`);
      return 0;
    case "resume": {
      const token = now().toISOString();
      await annotate(kc, name, { [PAUSED_ANNOTATION]: null, [RESUME_ANNOTATION]: token });
      io.stdout.write(`ttp/${name} resumed (${RESUME_ANNOTATION}=${token})\n`);
      return 0;
    }
    case "status":
      return watchStatus(kc, name, io, {
        watch: values.watch === true,
        intervalMs: parseDurationMs(values.interval ?? "1s", "--interval"),
        ...(values.timeout !== undefined ? { timeoutMs: parseDurationMs(values.timeout, "--timeout") } : {}),
        now,
      });
    default:
      throw new RolloutUsageError(`unknown rollout command "${sub}" (status, pause, resume)`);
  }
}

interface WatchOptions {
  readonly watch: boolean;
  readonly intervalMs: number;
  readonly timeoutMs?: number;
  readonly now: () => Date;
}

async function watchStatus(kc: KubeConfig, name: string, io: RolloutIo, o: WatchOptions): Promise<number> {
  const tty = io.stdout.isTTY === true;
  const plain = new PlainPrinter();
  const deadline = o.timeoutMs !== undefined ? Date.now() + o.timeoutMs : Infinity;
  let drawn = 0;
  let seen = false;
  for (;;) {
    const policy = await getPolicy(kc, name);
    if (!policy) {
      if (!seen) throw new RolloutUsageError(`ttp/${name} not found`);
      io.stdout.write(`ttp/${name} is gone: its removal is complete\n`);
      return 0;
    }
    seen = true;
    const at = o.now();
    if (tty && o.watch) {
      const frame = rolloutFrame(policy, at, { unicode: true });
      // Redraw in place: up to the first line of the previous frame, clear to the end of the screen.
      io.stdout.write(`${drawn > 0 ? `\x1b[${drawn}F\x1b[J` : ""}${frame.join("\n")}\n`);
      drawn = frame.length;
    } else if (o.watch) {
      for (const line of plain.lines(policy, at)) io.stdout.write(`${line}\n`);
    } else {
      io.stdout.write(`${rolloutFrame(policy, at, { unicode: tty }).join("\n")}\n`);
    }
    const end = outcome(policy);
    if (end) return end === "ready" ? 0 : 1;
    if (!o.watch) return EXIT_PROGRESSING;
    if (Date.now() >= deadline) {
      io.stderr.write(`tcp-tuning: ttp/${name}: still in progress after --timeout\n`);
      return EXIT_PROGRESSING;
    }
    await sleep(o.intervalMs);
  }
}

/** `tcp-tuning rollout ...` with the process's streams; errors are printed, never thrown. */
export async function main(argv: readonly string[]): Promise<number> {
  const io: RolloutIo = {
    stdout: { write: (t) => void process.stdout.write(t), isTTY: process.stdout.isTTY },
    stderr: { write: (t) => void process.stderr.write(t) },
    env: process.env,
  };
  try {
    return await runRollout(argv, io);
  } catch (err) {
    if (err instanceof RolloutUsageError) {
      io.stderr.write(`tcp-tuning rollout: ${err.message}\nRun \`tcp-tuning rollout --help\` for usage.\n`);
      return EXIT_INPUT;
    }
    io.stderr.write(`tcp-tuning rollout: ${err instanceof Error ? err.message : String(err)}\n`);
    return EXIT_INPUT;
  }
}
