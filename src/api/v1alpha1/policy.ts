import { z } from "zod";
import { API_GROUP_VERSION, POLICY_KIND } from "./group.js";
import { rolloutStatusSchema } from "./rollout-status.js";
import { CONDITIONS_LIST_MAP, conditionSchema, labelSelectorSchema, objectMetaSchema } from "./meta.js";
import { SYSCTL_NAME_MAX, SYSCTL_NAME_PATTERN, SYSCTL_SCOPE_PREFIXES, SYSCTL_SCOPE_TEXT } from "./sysctl-name.js";

/**
 * TcpTuningPolicy (tcptuning.io/v1alpha1), exactly as docs/contract says.
 *
 * Sysctl names are deliberately only length-bounded here: whether a name is well-formed,
 * in scope and known is the rule engine's judgement (with a rule id, a message and a fix),
 * and the CRD adds the same grammar (sysctl-name.ts) as a CEL rule so the apiserver refuses the worst
 * on its own.
 */
export const SYSCTL_VALUE_MAX = 256;
export const SYSCTLS_MAX = 64;

/**
 * CEL rules on one sysctl entry: what needs no node facts, so the apiserver refuses it even if the
 * webhook is down or deleted. The webhook then explains the rest (unknown keys, values, kernels).
 */
export const SYSCTL_ENTRY_VALIDATIONS = [
  {
    rule: `self.name.matches('${SYSCTL_NAME_PATTERN}')`,
    message: "sysctl names are dotted lowercase words exactly as `sysctl -a` prints them: no '/', '..', whitespace or globs",
    reason: "FieldValueInvalid",
    fieldPath: ".name",
  },
  {
    rule: SYSCTL_SCOPE_PREFIXES.map((p) => `self.name.startsWith('${p}')`).join(" || "),
    message: `only TCP/IP networking sysctls (${SYSCTL_SCOPE_TEXT}) are in scope; kernel.*, vm.* and fs.* are never written`,
    messageExpression: `"sysctl " + self.name + " is out of scope: only TCP/IP networking sysctls (${SYSCTL_SCOPE_TEXT}) are written; kernel.*, vm.* and fs.* never are"`,
    reason: "FieldValueForbidden",
    fieldPath: ".name",
  },
] as const;

/** sysctls is a list map keyed by name: the apiserver refuses duplicate keys, and SSA merges by key. */
export const SYSCTL_LIST_MAP = { "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"] } as const;

export const sysctlEntrySchema = z
  .object({
    name: z.string().min(1).max(SYSCTL_NAME_MAX).describe("Sysctl name with dots, as `sysctl -a` prints it, e.g. net.ipv4.tcp_tw_reuse."),
    value: z.string().max(SYSCTL_VALUE_MAX).describe('Value as written in sysctl.conf, e.g. "1" or "10240 65000".'),
  })
  .meta({ "x-kubernetes-validations": SYSCTL_ENTRY_VALIDATIONS });
export type SysctlEntry = z.infer<typeof sysctlEntrySchema>;

export const intOrPercentSchema = z.union([z.number().int().min(0), z.string().regex(/^(100|[1-9]?[0-9])%$/)]);

/** rollback restores a halted wave; a rollout that goes on after a failure has no halted wave to restore. */
export const ROLLBACK_NEEDS_PAUSE = {
  rule: "!has(self.rollback) || !self.rollback || (has(self.pauseOnFailure) && self.pauseOnFailure)",
  message: "rollback: true needs pauseOnFailure: true (the failed wave is restored when the rollout stops there)",
  reason: "FieldValueInvalid",
  fieldPath: ".rollback",
} as const;

export const rolloutSchema = z
  .object({
    maxUnavailable: intOrPercentSchema.optional().describe("Nodes changing at once: a count or a percentage of matched nodes."),
    canary: z
      .object({
        nodes: z.number().int().min(0).optional().describe("Size of the first wave."),
        soakSeconds: z.number().int().min(0).max(86400).optional().describe("Wait after the canary wave before going on."),
      })
      .optional(),
    pauseOnFailure: z.boolean().optional().describe("Stop further waves when a node of a wave fails to apply or fails the health gate."),
    rollback: z
      .boolean()
      .optional()
      .describe("With pauseOnFailure: restore the originals on every node of the failed wave (the policy's keys leave their desired state)."),
  })
  .meta({ "x-kubernetes-validations": [ROLLBACK_NEEDS_PAUSE] })
  .refine((r) => !r.rollback || r.pauseOnFailure === true, { message: ROLLBACK_NEEDS_PAUSE.message, path: ["rollback"] });
export type Rollout = z.infer<typeof rolloutSchema>;

export const POLICY_MODES = ["Enforce", "DryRun"] as const;
export type PolicyMode = (typeof POLICY_MODES)[number];

export const policySpecSchema = z.object({
  nodeSelector: labelSelectorSchema.optional().describe("Which nodes; absent or {} selects every Linux node."),
  sysctls: z.array(sysctlEntrySchema).min(1).max(SYSCTLS_MAX).meta(SYSCTL_LIST_MAP),
  priority: z
    .number()
    .int()
    .min(-1000000)
    .max(1000000)
    .optional()
    .describe("On the same key the higher priority wins; equal priority and different values conflict.")
    .meta({ default: 0 }),
  mode: z.enum(POLICY_MODES).optional().describe("Enforce changes nodes; DryRun validates, plans and reports only.").meta({ default: "Enforce" }),
  rollout: rolloutSchema.optional(),
});
export type PolicySpec = z.infer<typeof policySpecSchema>;

export const nodeCountsSchema = z.object({
  matched: z.number().int().min(0),
  applied: z.number().int().min(0),
  pending: z.number().int().min(0),
  failed: z.number().int().min(0),
  rejected: z.number().int().min(0),
});
export type NodeCounts = z.infer<typeof nodeCountsSchema>;

export const POLICY_CONDITION_TYPES = ["Accepted", "Progressing", "Ready", "Degraded"] as const;

export const FINDING_NODES_MAX = 10;
export const FINDINGS_MAX = 50;

/** One kind of finding (rule + sysctl) of the last evaluation, with the nodes it concerns (bounded). */
export const findingSummarySchema = z.object({
  rule: z.string().max(16),
  severity: z.enum(["deny", "warn"]),
  sysctl: z.string().max(SYSCTL_NAME_MAX).optional(),
  message: z.string().max(2048).describe("The first finding's message."),
  nodes: z.array(z.string().max(253)).max(FINDING_NODES_MAX).optional().describe("Some of the nodes concerned."),
  nodeCount: z.number().int().min(0).optional().describe("How many nodes are concerned in all."),
});
export type FindingSummary = z.infer<typeof findingSummarySchema>;

export const WITHHELD_MAX = 20;
export const WITHHELD_REASONS = ["Conflict", "CombinationDenied"] as const;

/** A key of this policy that is not applied on a node although the policy is allowed there. */
export const withheldKeySchema = z.object({
  node: z.string().max(253),
  sysctl: z.string().max(SYSCTL_NAME_MAX),
  reason: z
    .enum(WITHHELD_REASONS)
    .describe(
      "Conflict: another policy of the same priority wants another value (neither is applied). CombinationDenied: together with another policy's key the rule engine denies it.",
    ),
  policies: z.array(z.string().max(253)).max(8).describe("The other policies involved."),
  message: z.string().max(1024),
});
export type WithheldKey = z.infer<typeof withheldKeySchema>;

export const PLAN_ITEMS_MAX = 50;
export const PLAN_ACTIONS = ["Change", "NoChange", "Unknown", "Rejected", "Overridden", "Withheld"] as const;
export type PlanAction = (typeof PLAN_ACTIONS)[number];

/** One row of a DryRun plan: a key on a node, the agent's current value and what Enforce would do. */
export const planItemSchema = z.object({
  node: z.string().max(253),
  sysctl: z.string().max(SYSCTL_NAME_MAX),
  current: z.string().max(SYSCTL_VALUE_MAX).optional().describe("The value the node's agent last probed; absent when unknown."),
  desired: z.string().max(SYSCTL_VALUE_MAX),
  action: z.enum(PLAN_ACTIONS),
  reason: z.string().max(1024).optional().describe("Why the value would not be applied (Rejected, Overridden, Withheld)."),
});
export type PlanItem = z.infer<typeof planItemSchema>;

export const planSchema = z.object({
  nodes: z.number().int().min(0).describe("Matched Linux nodes planned."),
  changes: z.number().int().min(0).describe("Node x key pairs whose value would change."),
  unchanged: z.number().int().min(0).describe("Pairs already at the desired value."),
  unknown: z.number().int().min(0).describe("Pairs whose current value the agent has not reported."),
  blocked: z.number().int().min(0).describe("Pairs that would not be applied (rejected, overridden, withheld)."),
  items: z.array(planItemSchema).max(PLAN_ITEMS_MAX).describe("The first rows, changes and blocked ones first; `tcp-tuning plan` prints them all."),
});
export type Plan = z.infer<typeof planSchema>;

export const policyStatusSchema = z.object({
  observedGeneration: z.number().int().min(0).optional(),
  conditions: z.array(conditionSchema).optional().meta(CONDITIONS_LIST_MAP),
  nodes: nodeCountsSchema.optional(),
  findings: z
    .array(findingSummarySchema)
    .max(FINDINGS_MAX)
    .optional()
    .describe("What the rule engine found at observedGeneration (DryRun policies are audited here)."),
  withheld: z
    .array(withheldKeySchema)
    .max(WITHHELD_MAX)
    .optional()
    .describe("Keys not applied on some nodes because of another policy (bounded; the Degraded condition counts them all)."),
  plan: planSchema.optional().describe("DryRun only: what Enforce would change on each matched node."),
  rollout: rolloutStatusSchema.optional().describe("The gradual rollout of observedGeneration (or of the policy's removal): waves, soak, health gate."),
});
export type PolicyStatus = z.infer<typeof policyStatusSchema>;

export const policySchema = z.object({
  apiVersion: z.literal(API_GROUP_VERSION),
  kind: z.literal(POLICY_KIND),
  metadata: objectMetaSchema,
  spec: policySpecSchema,
  status: policyStatusSchema.optional(),
});
export type Policy = z.infer<typeof policySchema>;

export const DEFAULT_PRIORITY = 0;
export const DEFAULT_MODE: PolicyMode = "Enforce";
