import { z } from "zod";
import type { CheckReport } from "../report.js";

const locationSchema = z.object({ file: z.string(), line: z.number().int().min(1).optional(), column: z.number().int().min(1).optional() });

const findingSchema = z.object({
  rule: z.string().regex(/^TT\d{3}$/),
  severity: z.enum(["deny", "warn"]),
  sysctl: z.string().optional(),
  value: z.string().optional(),
  node: z.string().optional(),
  message: z.string().min(1),
  reference: z.string(),
  location: locationSchema.optional(),
});

/** The `--output json` document: the contract's fields (section 3), and a few more. */
export const checkJsonSchema = z.object({
  policies: z.array(
    z.object({
      name: z.string(),
      source: locationSchema,
      verdict: z.enum(["allowed", "denied"]),
      mode: z.string(),
      nodeChecks: z.boolean(),
      findings: z.array(findingSchema),
      nodes: z.array(
        z.object({
          node: z.string(),
          verdict: z.enum(["allowed", "denied", "skipped"]),
          kernel: z.string().optional(),
          reason: z.string().optional(),
          findings: z.array(findingSchema),
        }),
      ),
    }),
  ),
  summary: z.object({
    policies: z.number().int(),
    allowed: z.number().int(),
    denied: z.number().int(),
    denyFindings: z.number().int(),
    warnFindings: z.number().int(),
    nodes: z.object({ total: z.number().int(), linux: z.number().int(), skipped: z.number().int() }).optional(),
  }),
  notes: z.array(z.string()),
  errors: z.array(locationSchema.extend({ message: z.string() })),
});
export type CheckJson = z.infer<typeof checkJsonSchema>;

export function renderJson(report: CheckReport): string {
  const doc: CheckJson = {
    policies: report.policies.map((p) => ({ ...p, findings: [...p.findings], nodes: p.nodes.map((n) => ({ ...n, findings: [...n.findings] })) })),
    summary: report.summary,
    notes: [...report.notes],
    errors: [...report.errors],
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}
