import { createHash } from "node:crypto";
import type { Rollout } from "../../api/v1alpha1/policy.js";
import { WAVE_NODES_MAX } from "../../api/v1alpha1/rollout-status.js";

/**
 * Which nodes go in which wave. Pure and deterministic: the same nodes, zones and spec give the same
 * waves, whatever order the informer listed them in.
 *
 * - Order within a zone: by a hash of (policy, node), so each policy's canary is a different node
 *   rather than always the alphabetically first one.
 * - A wave of S nodes out of N takes at most ceil(S * n_z / N) nodes from a zone that has n_z of
 *   them (its share), filled round-robin over the zones, those with the most nodes left first (so
 *   the zones drain together; ties by zone name): a wave never lands on
 *   one zone while the others wait. Near the end, when only one zone has nodes left, waves shrink
 *   to that zone's share rather than break the rule.
 * - Wave 1 is the canary (canary.nodes, when > 0); every later wave has at most maxUnavailable
 *   nodes (an integer, or a percentage of the rollout's nodes rounded down, at least 1; absent: 1).
 * - Without spec.rollout every node goes at once (in waves of at most WAVE_NODES_MAX, since status
 *   names the current wave's nodes).
 */

export const ZONE_LABEL = "topology.kubernetes.io/zone";

export interface PlanNode {
  readonly name: string;
  /** topology.kubernetes.io/zone; nodes without one form a zone of their own (""). */
  readonly zone?: string | undefined;
}

export function resolveMaxUnavailable(value: Rollout["maxUnavailable"], total: number): number {
  if (value === undefined) return 1;
  const n = typeof value === "number" ? value : Math.floor((Number(value.slice(0, -1)) * total) / 100);
  return Math.min(WAVE_NODES_MAX, Math.max(1, n));
}

/** The size of wave `wave` (1-based) for a rollout over `total` nodes. */
export function waveSize(spec: Rollout | undefined, wave: number, total: number): number {
  if (!spec) return WAVE_NODES_MAX;
  const canary = spec.canary?.nodes ?? 0;
  if (wave === 1 && canary > 0) return Math.min(WAVE_NODES_MAX, canary);
  return resolveMaxUnavailable(spec.maxUnavailable, total);
}

function orderKey(policy: string, node: string): string {
  return createHash("sha256").update(`${policy}\0${node}`).digest("hex");
}

/** Zone name -> how many of the rollout's nodes it has (the denominator of each zone's share). */
export function zoneSizes(nodes: readonly PlanNode[]): Map<string, number> {
  const sizes = new Map<string, number>();
  for (const n of nodes) sizes.set(n.zone ?? "", (sizes.get(n.zone ?? "") ?? 0) + 1);
  return sizes;
}

/** The most nodes of a zone with `zoneCount` of `total` nodes that a wave of `size` may take. */
export function zoneShare(size: number, zoneCount: number, total: number): number {
  return total === 0 ? 0 : Math.max(1, Math.ceil((size * zoneCount) / total));
}

/** Per zone, the waiting nodes in rollout order. */
function zoneQueues(policy: string, waiting: readonly PlanNode[]): [string, PlanNode[]][] {
  const byZone = new Map<string, { node: PlanNode; key: string }[]>();
  for (const node of waiting) {
    const z = node.zone ?? "";
    const list = byZone.get(z) ?? [];
    list.push({ node, key: orderKey(policy, node.name) });
    byZone.set(z, list);
  }
  return [...byZone.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([z, list]) => [z, list.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.node.name < b.node.name ? -1 : 1)).map((e) => e.node)]);
}

/** Takes the next wave from per-zone queues (mutated: the taken nodes leave them). */
function takeWave(queues: [string, PlanNode[]][], size: number, sizes: ReadonlyMap<string, number>, total: number): PlanNode[] {
  const taken: PlanNode[] = [];
  const perZone = new Map<string, number>();
  // The zones with the most nodes left go first, so zones drain together (no tail of one-zone waves).
  const order = [...queues].sort(([za, a], [zb, b]) => b.length - a.length || (za < zb ? -1 : za > zb ? 1 : 0));
  let progress = true;
  while (taken.length < size && progress) {
    progress = false;
    for (const [zone, queue] of order) {
      if (taken.length >= size) break;
      const already = perZone.get(zone) ?? 0;
      if (queue.length === 0 || already >= zoneShare(size, sizes.get(zone) ?? 0, total)) continue;
      taken.push(queue.shift() as PlanNode);
      perZone.set(zone, already + 1);
      progress = true;
    }
  }
  return taken;
}

export interface WavePlanInput {
  readonly policy: string;
  readonly spec: Rollout | undefined;
  /** Every node of the rollout (done, in flight and waiting): zone shares and percentages are of these. */
  readonly all: readonly PlanNode[];
  /** The nodes not released yet. */
  readonly waiting: readonly PlanNode[];
  /** The number the next wave will have (1-based). */
  readonly nextWave: number;
}

/** The remaining waves, in order: the first is the one to start now. */
export function planWaves(input: WavePlanInput): PlanNode[][] {
  const sizes = zoneSizes(input.all);
  const total = input.all.length;
  const queues = zoneQueues(input.policy, input.waiting);
  const waves: PlanNode[][] = [];
  for (let wave = input.nextWave; queues.some(([, q]) => q.length > 0); wave++) {
    const next = takeWave(queues, waveSize(input.spec, wave, total), sizes, total);
    if (next.length === 0) break; // cannot happen (a share is at least 1), but never loop forever
    waves.push(next);
  }
  return waves;
}
