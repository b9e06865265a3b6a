/** Prometheus metrics for every component: one registry each, one plain-HTTP port for /metrics, /healthz and /readyz. */
export { componentRegistry, DURATION_BUCKETS, METRIC_PREFIX, type Component } from "./registry.js";
export { AGENT_METRICS_PORT, DEFAULT_METRICS_PORT, listenOn, MetricsServer, metricsListenArgs, type MetricsServerOptions } from "./server.js";
export { WebhookMetrics } from "./webhook.js";
export { AgentMetrics } from "./agent.js";
export { ControllerMetrics } from "./controller.js";
