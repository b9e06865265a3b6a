import { request } from "node:https";
import type { KubeConfig } from "@kubernetes/client-node";

/**
 * The requests the apiserver has received, from its own /metrics (apiserver_request_total), by verb
 * and resource: what a test counts to prove that something wrote nothing.
 */

export type RequestCounts = Map<string, number>;

export const WRITE_VERBS = ["POST", "PUT", "PATCH", "APPLY", "DELETE", "DELETECOLLECTION"] as const;

/**
 * Keys are "VERB resource[/subresource]", summed over response codes; with `byCode`,
 * "VERB resource[/subresource] CODE" (e.g. "LIST nodes 200", "WATCH nodes 429").
 */
export async function requestCounts(kc: KubeConfig, byCode = false): Promise<RequestCounts> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error("no current cluster in the kubeconfig");
  const opts: { ca?: Buffer | string; cert?: Buffer | string; key?: Buffer | string; headers?: Record<string, string> } = {};
  await kc.applyToHTTPSOptions(opts as never);
  const body = await new Promise<string>((resolve, reject) => {
    const req = request(`${cluster.server}/metrics`, { ...opts, timeout: 30_000 }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (text += c));
      res.on("end", () => (res.statusCode === 200 ? resolve(text) : reject(new Error(`GET /metrics: ${res.statusCode}`))));
    });
    req.on("timeout", () => req.destroy(new Error("GET /metrics timed out")));
    req.on("error", reject);
    req.end();
  });
  const counts: RequestCounts = new Map();
  for (const line of body.split("\n")) {
    if (!line.startsWith("apiserver_request_total{")) continue;
    const labels = Object.fromEntries([...line.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    const value = Number(line.slice(line.lastIndexOf(" ") + 1));
    const key = `${labels["verb"]} ${labels["resource"]}${labels["subresource"] ? `/${labels["subresource"]}` : ""}${byCode ? ` ${labels["code"]}` : ""}`;
    counts.set(key, (counts.get(key) ?? 0) + value);
  }
  return counts;
}

/** Write requests between two snapshots, by "VERB resource[/subresource]", leaving out `ignore`d resources. */
/**
 * What the controller may write (its ClusterRole), but for its Lease: the other write counts of a
 * shared apiserver also hold kube-controller-manager's (pods deleted with an earlier test's
 * namespace, nodes, leases), which apiserver_request_total cannot tell apart.
 */
export const CONTROLLER_WRITTEN_RESOURCES = ["tcptuningnodestates", "tcptuningpolicies", "events"] as const;

/** Write requests between two samples to these resources only (a subresource counts as its resource). */
export function writesTo(before: RequestCounts, after: RequestCounts, resources: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, n] of Object.entries(writesBetween(before, after))) {
    if (resources.includes(key.split(" ")[1]?.split("/")[0] ?? "")) out[key] = n;
  }
  return out;
}

export function writesBetween(before: RequestCounts, after: RequestCounts, ignore: readonly string[] = []): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, n] of after) {
    const [verb, resource] = key.split(" ");
    if (!(WRITE_VERBS as readonly string[]).includes(verb ?? "") || ignore.some((r) => (resource ?? "").split("/")[0] === r)) continue;
    const d = n - (before.get(key) ?? 0);
    if (d > 0) out[key] = d;
  }
  return out;
}
