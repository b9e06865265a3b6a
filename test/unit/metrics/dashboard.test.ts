import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { AgentMetrics, componentRegistry, ControllerMetrics, WebhookMetrics } from "../../../src/metrics/index.js";
import { DASHBOARD_PATH, dashboard } from "../../../scripts/gen-dashboard.js";

/** Every series name the components export: their own metrics and prom-client's process metrics. */
async function exportedSeries(): Promise<Set<string>> {
  const registry = componentRegistry("webhook");
  new WebhookMetrics(registry);
  new AgentMetrics(registry, "n");
  new ControllerMetrics(registry);
  const names = new Set<string>();
  for (const m of await registry.getMetricsAsJSON()) {
    names.add(m.name);
    if (String(m.type) === "histogram") for (const suffix of ["_bucket", "_sum", "_count"]) names.add(`${m.name}${suffix}`);
  }
  return names;
}

/** The metric names a PromQL expression reads: identifiers left once strings, label matchers, ranges, grouping clauses and function calls are set aside. */
function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, "")
    .replace(/\[[^\]]*\]/g, "")
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, "");
  const names: string[] = [];
  for (const m of bare.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const after = bare.slice((m.index ?? 0) + m[0].length).trimStart();
    if (after.startsWith("(")) continue; // a function or an aggregation
    if (["by", "without", "and", "or", "unless", "bool", "offset"].includes(m[0])) continue;
    names.push(m[0]);
  }
  return names;
}

const panels = (dashboard()["panels"] as { type: string; title: string; targets?: { expr: string }[] }[]).filter((p) => p.type !== "row");

describe("the Grafana dashboard", () => {
  it("is the generated one (npm run gen:dashboard)", () => {
    expect(JSON.parse(readFileSync(new URL(`../../../${DASHBOARD_PATH}`, import.meta.url), "utf8"))).toEqual(dashboard());
  });

  it("reads a metric in every query", () => {
    for (const p of panels) for (const t of p.targets ?? []) expect(metricNames(t.expr), `${p.title}: ${t.expr}`).not.toEqual([]);
  });

  it.each(panels.map((p) => [p.title, p] as const))("%s queries only exported metrics", async (_title, panel) => {
    const exported = await exportedSeries();
    for (const t of panel.targets ?? []) for (const name of metricNames(t.expr)) expect(exported, `${name} in ${t.expr}`).toContain(name);
  });

  it("finds the metric names in a query, not its functions, labels or ranges", () => {
    expect(metricNames('histogram_quantile(0.99, sum by (le) (rate(a_bucket{x="y"}[5m]))) - time() + b')).toEqual(["a_bucket", "b"]);
  });

  it("covers rollout progress, webhook latency and denials by rule, drift and the TCP counters per node", () => {
    const all = panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr)).join("\n");
    for (const name of [
      "tcptuning_controller_rollout_progress_ratio",
      "tcptuning_webhook_request_duration_seconds_bucket",
      "tcptuning_webhook_findings_total",
      "tcptuning_agent_drift_corrections_total",
      "tcptuning_agent_tcp_time_wait_sockets",
    ])
      expect(all).toContain(name);
  });
});
