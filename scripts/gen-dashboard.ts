/**
 * `npm run gen:dashboard`: writes deploy/grafana/tcp-tuning.json, the Grafana dashboard for the
 * metrics in src/metrics (rollout progress, webhook latency and denials by rule, drift, the TCP
 * counters per node). Panels are data here so a unit test can check every query names only
 * exported metrics.
 */
import { writeFileSync } from "node:fs";

interface Panel {
  readonly title: string;
  readonly type: "timeseries" | "stat" | "bargauge" | "table";
  readonly unit?: string;
  readonly description: string;
  readonly targets: readonly { readonly expr: string; readonly legend: string }[];
  readonly w?: number;
}

const ROWS: readonly { readonly title: string; readonly panels: readonly Panel[] }[] = [
  {
    title: "Rollout",
    panels: [
      {
        title: "Rollout progress by policy",
        type: "bargauge",
        unit: "percentunit",
        description: "Share of each policy's selected nodes that applied its current generation.",
        targets: [{ expr: "max by (policy) (tcptuning_controller_rollout_progress_ratio)", legend: "{{policy}}" }],
      },
      {
        title: "Policy nodes by state",
        type: "timeseries",
        description: "Nodes each policy selects, by rollout state.",
        targets: [{ expr: "sum by (policy, state) (tcptuning_controller_policy_nodes)", legend: "{{policy}} {{state}}" }],
      },
      {
        title: "Node states",
        type: "timeseries",
        description: "TcpTuningNodeStates by state across the fleet.",
        targets: [{ expr: "sum by (state) (tcptuning_controller_node_states)", legend: "{{state}}" }],
      },
      {
        title: "Controller leader",
        type: "stat",
        description: "Replicas holding the leader Lease (should be 1).",
        targets: [{ expr: "sum(tcptuning_controller_leader)", legend: "leaders" }],
      },
      {
        title: "Reconcile p99",
        type: "timeseries",
        unit: "s",
        description: "99th percentile reconcile duration by controller.",
        targets: [
          {
            expr: "histogram_quantile(0.99, sum by (le, controller) (rate(tcptuning_controller_reconcile_duration_seconds_bucket[5m])))",
            legend: "{{controller}}",
          },
        ],
      },
      {
        title: "Work queue and retries",
        type: "timeseries",
        description: "Objects waiting, and requeues after errors per second.",
        targets: [
          { expr: "sum by (controller) (tcptuning_controller_queue_depth)", legend: "{{controller}} depth" },
          { expr: "sum by (controller) (rate(tcptuning_controller_retries_total[5m]))", legend: "{{controller}} retries/s" },
        ],
      },
    ],
  },
  {
    title: "Admission webhook",
    panels: [
      {
        title: "Admission latency (webhook's view)",
        type: "timeseries",
        unit: "s",
        description:
          "p50 and p99 from the request's arrival to the flushed reply. The apiserver's apiserver_admission_webhook_admission_duration_seconds adds the network and any queueing.",
        targets: [
          { expr: "histogram_quantile(0.5, sum by (le) (rate(tcptuning_webhook_request_duration_seconds_bucket[5m])))", legend: "p50" },
          { expr: "histogram_quantile(0.99, sum by (le) (rate(tcptuning_webhook_request_duration_seconds_bucket[5m])))", legend: "p99" },
        ],
      },
      {
        title: "Admissions by outcome",
        type: "timeseries",
        description: "Requests per second by outcome (allowed, denied, dry-run, not-synced, bad-request...).",
        targets: [{ expr: "sum by (outcome) (rate(tcptuning_webhook_admissions_total[5m]))", legend: "{{outcome}}" }],
      },
      {
        title: "Denials by rule",
        type: "bargauge",
        description: "Deny findings over the dashboard's range, by rule.",
        targets: [{ expr: 'sum by (rule) (increase(tcptuning_webhook_findings_total{severity="deny"}[$__range]))', legend: "{{rule}}" }],
      },
      {
        title: "Warnings by rule",
        type: "bargauge",
        description: "Warn findings over the dashboard's range, by rule.",
        targets: [{ expr: 'sum by (rule) (increase(tcptuning_webhook_findings_total{severity="warn"}[$__range]))', legend: "{{rule}}" }],
      },
      {
        title: "Certificate expires in",
        type: "stat",
        unit: "s",
        description: "Time left on the serving certificate and the CA (rotation renews at 2/3 of the lifetime).",
        targets: [{ expr: "min by (certificate) (tcptuning_webhook_certificate_expiry_timestamp_seconds) - time()", legend: "{{certificate}}" }],
      },
      {
        title: "Node cache",
        type: "timeseries",
        description: "Nodes cached, and the distinct classes of node facts an admission judges.",
        targets: [
          { expr: "max(tcptuning_webhook_cached_nodes)", legend: "nodes" },
          { expr: "max(tcptuning_webhook_node_classes)", legend: "classes" },
        ],
      },
    ],
  },
  {
    title: "Node agents",
    panels: [
      {
        title: "Apply results",
        type: "timeseries",
        description: "Desired keys handled per second, by result.",
        targets: [{ expr: "sum by (result) (rate(tcptuning_agent_apply_results_total[5m]))", legend: "{{result}}" }],
      },
      {
        title: "Drift corrections by node",
        type: "timeseries",
        description: "Keys someone else changed that an agent put back, per node.",
        targets: [{ expr: "sum by (node) (increase(tcptuning_agent_drift_corrections_total[1h]))", legend: "{{node}}" }],
      },
      {
        title: "Restores",
        type: "timeseries",
        description: "Keys put back to their original value, by result.",
        targets: [{ expr: "sum by (result) (increase(tcptuning_agent_restore_results_total[1h]))", legend: "{{result}}" }],
      },
      {
        title: "Status writes",
        type: "timeseries",
        description: "TcpTuningNodeState status writes per hour, by outcome (fleet total).",
        targets: [{ expr: "sum by (outcome) (increase(tcptuning_agent_status_writes_total[1h]))", legend: "{{outcome}}" }],
      },
      {
        title: "TIME_WAIT sockets by node",
        type: "timeseries",
        description: "Sockets in TIME_WAIT, as each agent last sampled.",
        targets: [{ expr: "max by (node) (tcptuning_agent_tcp_time_wait_sockets)", legend: "{{node}}" }],
      },
      {
        title: "PAWS rejections by node",
        type: "timeseries",
        description: "Connections and packets rejected for an old timestamp (the tcp_tw_recycle behind NAT failure).",
        targets: [
          {
            expr: "sum by (node) (rate(tcptuning_agent_tcp_paws_passive_rejected_total[5m]) + rate(tcptuning_agent_tcp_paws_active_rejected_total[5m]) + rate(tcptuning_agent_tcp_paws_established_rejected_total[5m]))",
            legend: "{{node}}",
          },
        ],
      },
      {
        title: "TIME_WAIT overflow and recycling by node",
        type: "timeseries",
        description: "TIME_WAIT sockets not created (tcp_max_tw_buckets reached) and recycled, per second.",
        targets: [
          { expr: "sum by (node) (rate(tcptuning_agent_tcp_time_wait_overflow_total[5m]))", legend: "{{node}} overflow" },
          { expr: "sum by (node) (rate(tcptuning_agent_tcp_tw_recycled_total[5m]))", legend: "{{node}} recycled" },
        ],
      },
      {
        title: "Agent passes",
        type: "timeseries",
        description: "Reconcile passes per second, by outcome.",
        targets: [{ expr: "sum by (outcome) (rate(tcptuning_agent_passes_total[5m]))", legend: "{{outcome}}" }],
      },
    ],
  },
  {
    title: "Processes",
    panels: [
      {
        title: "Resident memory",
        type: "timeseries",
        unit: "bytes",
        description: "RSS of each component's process.",
        targets: [
          { expr: 'max by (component, instance) (process_resident_memory_bytes{component=~"webhook|agent|controller"})', legend: "{{component}} {{instance}}" },
        ],
      },
      {
        title: "CPU",
        type: "timeseries",
        unit: "percentunit",
        description: "CPU of each component's process (1 = one core).",
        targets: [
          {
            expr: 'sum by (component, instance) (rate(process_cpu_seconds_total{component=~"webhook|agent|controller"}[5m]))',
            legend: "{{component}} {{instance}}",
          },
        ],
      },
      {
        title: "Event-loop lag p99",
        type: "timeseries",
        unit: "s",
        description: "Time a ready callback waits for the event loop: requests queue this long before the handler even runs.",
        targets: [
          {
            expr: 'max by (component, instance) (nodejs_eventloop_lag_p99_seconds{component=~"webhook|agent|controller"})',
            legend: "{{component}} {{instance}}",
          },
        ],
      },
    ],
  },
];

export function dashboard(): Record<string, unknown> {
  const panels: Record<string, unknown>[] = [];
  let id = 1;
  let y = 0;
  for (const row of ROWS) {
    panels.push({ id: id++, type: "row", title: row.title, collapsed: false, gridPos: { h: 1, w: 24, x: 0, y }, panels: [] });
    y += 1;
    let x = 0;
    for (const p of row.panels) {
      const w = p.w ?? 8;
      if (x + w > 24) {
        x = 0;
        y += 8;
      }
      panels.push({
        id: id++,
        type: p.type,
        title: p.title,
        description: p.description,
        datasource: { type: "prometheus", uid: "${datasource}" },
        gridPos: { h: 8, w, x, y },
        fieldConfig: { defaults: { unit: p.unit ?? "short" }, overrides: [] },
        options: p.type === "timeseries" ? { legend: { displayMode: "list", placement: "bottom" }, tooltip: { mode: "multi" } } : {},
        targets: p.targets.map((t, i) => ({
          refId: String.fromCharCode(65 + i),
          expr: t.expr,
          legendFormat: t.legend,
          datasource: { type: "prometheus", uid: "${datasource}" },
        })),
      });
      x += w;
    }
    y += 8;
  }
  return {
    title: "TCP tuning operator",
    uid: "tcp-tuning-operator",
    description: "Rollout progress, admission latency and denials by rule, drift and the TCP counters per node (metrics: docs/benchmarks.md, src/metrics).",
    tags: ["tcp-tuning", "kubernetes"],
    timezone: "browser",
    schemaVersion: 39,
    version: 1,
    refresh: "30s",
    time: { from: "now-6h", to: "now" },
    templating: { list: [{ name: "datasource", label: "Prometheus", type: "datasource", query: "prometheus", current: {} }] },
    panels,
  };
}

export const DASHBOARD_PATH = "deploy/grafana/tcp-tuning.json";

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split("/").pop() ?? "")) {
  writeFileSync(new URL(`../${DASHBOARD_PATH}`, import.meta.url), `${JSON.stringify(dashboard(), null, 2)}\n`);
  process.stdout.write(`wrote ${DASHBOARD_PATH}\n`);
}
