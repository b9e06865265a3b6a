import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { z } from "zod";

const chartValues = z.object({ webhook: z.object({ env: z.record(z.string(), z.string()).default({}) }) });

/**
 * The environment the chart gives the webhook's container by default (values.yaml webhook.env: V8 and
 * malloc settings), so a benchmark runs the webhook process as it runs in a cluster.
 */
export function webhookChartEnv(root: string): Record<string, string> {
  const values: unknown = parse(readFileSync(join(root, "charts", "tcp-tuning-operator", "values.yaml"), "utf8"));
  return chartValues.parse(values).webhook.env;
}
