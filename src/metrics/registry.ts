import { collectDefaultMetrics, Registry } from "prom-client";

/** Every metric this project defines starts with this. */
export const METRIC_PREFIX = "tcptuning_";

export type Component = "webhook" | "agent" | "controller";

/**
 * A registry for one component: its own metrics plus the Node.js process metrics (CPU, RSS, heap,
 * event-loop lag; names as prom-client defines them), labelled with the component.
 */
export function componentRegistry(component: Component, options: { processMetrics?: boolean } = {}): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ component });
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 20 });
  return registry;
}

/** Request and reconcile durations, in seconds: 0.5 ms to 10 s. */
export const DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
