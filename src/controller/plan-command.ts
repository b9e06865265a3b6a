import { parseArgs } from "node:util";
import { CoreV1Api, CustomObjectsApi, type KubernetesObject } from "@kubernetes/client-node";
import { API_GROUP, API_VERSION, NODE_STATE_PLURAL, POLICY_PLURAL, POLICY_SHORT_NAMES, POLICY_SINGULAR } from "../api/v1alpha1/group.js";
import type { PlanItem } from "../api/v1alpha1/policy.js";
import { describeApiError } from "../kube/api-error.js";
import { loadKubeConfig, makeApiClient } from "../kube/client.js";
import { nodeStateView, nodeView, policyView, type NodeView } from "./cluster-view.js";
import { boundedPlan, planRows } from "./dry-run-plan.js";
import { projectNode } from "./cluster-cache.js";

export const PLAN_USAGE = `Usage: tcp-tuning plan ttp/NAME [--kubeconfig PATH] [--output table|json]

Prints what a TcpTuningPolicy does (DryRun) or would change (Enforce) on every matched Linux node:
per key the value the node's agent last probed -> the desired value, or why it is not applied there
(rejected on the node, overridden by a policy of higher precedence, withheld by a conflict or a denied
combination). Computed from the cluster as it is now, with the controller's own code and rule engine.
Exit code: 0 when printed, 1 when the policy does not exist, 2 on bad usage.
`;

const PREFIXES = new Set(["ttp", POLICY_SINGULAR, POLICY_PLURAL, ...POLICY_SHORT_NAMES, `${POLICY_PLURAL}.${API_GROUP}`, `${POLICY_SINGULAR}.${API_GROUP}`]);

/** "ttp/NAME" (or tcptuningpolicy/NAME, or NAME) -> NAME. */
export function policyNameArg(arg: string): string {
  const i = arg.indexOf("/");
  if (i < 0) return arg;
  const kind = arg.slice(0, i).toLowerCase();
  if (!PREFIXES.has(kind)) throw new Error(`"${arg}" is not a TcpTuningPolicy: use ttp/NAME`);
  return arg.slice(i + 1);
}

/** The rows as a fixed-width table, one row per node and key. */
export function planTable(rows: readonly PlanItem[]): string {
  const header = ["NODE", "SYSCTL", "CURRENT", "DESIRED", "ACTION", "REASON"];
  const cells = rows.map((r) => [r.node, r.sysctl, r.current ?? "?", r.desired, r.action, r.reason ?? ""]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => (i === 5 ? 0 : (c[i] ?? "").length))));
  const line = (c: readonly string[]): string =>
    c
      .map((v, i) => (i === 5 ? v : v.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  return [line(header), ...cells.map(line)].join("\n") + "\n";
}

export async function runPlan(argv: readonly string[]): Promise<number> {
  let values: { kubeconfig?: string | undefined; output?: string | undefined; help?: boolean | undefined };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: { kubeconfig: { type: "string" }, output: { type: "string", short: "o" }, help: { type: "boolean" } },
    }));
  } catch (err) {
    process.stderr.write(`tcp-tuning plan: ${(err as Error).message}\n${PLAN_USAGE}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(PLAN_USAGE);
    return 0;
  }
  const output = values.output ?? "table";
  if (positionals.length !== 1 || (output !== "table" && output !== "json")) {
    process.stderr.write(PLAN_USAGE);
    return 2;
  }
  let name: string;
  try {
    name = policyNameArg(positionals[0] as string);
  } catch (err) {
    process.stderr.write(`tcp-tuning plan: ${(err as Error).message}\n`);
    return 2;
  }
  try {
    const kc = loadKubeConfig(values.kubeconfig);
    const custom = makeApiClient(kc, CustomObjectsApi);
    const core = makeApiClient(kc, CoreV1Api);
    const list = async (plural: string): Promise<KubernetesObject[]> =>
      ((await custom.listClusterCustomObject({ group: API_GROUP, version: API_VERSION, plural })) as { items: KubernetesObject[] }).items;
    const [policies, states, nodes] = await Promise.all([list(POLICY_PLURAL), list(NODE_STATE_PLURAL), core.listNode()]);
    const views = policies.map(policyView);
    const target = views.find((p) => p.name === name);
    if (!target) {
      process.stderr.write(`tcp-tuning plan: TcpTuningPolicy "${name}" not found\n`);
      return 1;
    }
    const stateByName = new Map(states.map((s) => [s.metadata?.name ?? "", s]));
    const nodeViews = nodes.items
      .map((n) => {
        const st = stateByName.get(n.metadata?.name ?? "");
        return nodeView({ ...projectNode(n), metadata: { ...projectNode(n).metadata, uid: n.metadata?.uid } }, st ? nodeStateView(st) : undefined);
      })
      .filter((n): n is NodeView => n !== undefined)
      .sort((a, b) => (a.name < b.name ? -1 : 1));
    const rows = planRows(target, views, nodeViews);
    if (output === "json") {
      process.stdout.write(
        `${JSON.stringify({ policy: name, mode: target.prepared.mode, summary: { ...boundedPlan(rows), items: undefined }, items: rows }, null, 2)}\n`,
      );
      return 0;
    }
    const p = boundedPlan(rows);
    process.stdout.write(
      `TcpTuningPolicy ${name} (${target.prepared.mode}): ${p.changes} change(s) on ${p.nodes} matched Linux node(s), ${p.unchanged} already in effect, ${p.blocked} blocked, ${p.unknown} unknown\n\n`,
    );
    process.stdout.write(rows.length > 0 ? planTable(rows) : "no matched Linux node\n");
    return 0;
  } catch (err) {
    process.stderr.write(`tcp-tuning plan: ${describeApiError(err)}\n`);
    return 1;
  }
}
