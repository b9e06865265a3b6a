import { z } from "zod";

/** metav1.LabelSelectorRequirement */
export const labelSelectorRequirementSchema = z.object({
  key: z.string().min(1).max(317),
  operator: z.enum(["In", "NotIn", "Exists", "DoesNotExist"]),
  values: z.array(z.string().max(63)).max(256).optional(),
});

/** metav1.LabelSelector: absent or {} selects everything. */
export const labelSelectorSchema = z.object({
  matchLabels: z.record(z.string(), z.string()).optional(),
  matchExpressions: z.array(labelSelectorRequirementSchema).max(64).optional(),
});
export type LabelSelector = z.infer<typeof labelSelectorSchema>;

/** metav1.Condition, as the API conventions define it. */
export const conditionSchema = z.object({
  type: z.string().min(1).max(316),
  status: z.enum(["True", "False", "Unknown"]),
  observedGeneration: z.number().int().min(0).optional(),
  lastTransitionTime: z.string().min(1),
  reason: z.string().min(1).max(1024),
  message: z.string().max(32768),
});
export type Condition = z.infer<typeof conditionSchema>;

/** Conditions are a list map keyed by type, as the API conventions ask. */
export const CONDITIONS_LIST_MAP = { "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"] } as const;

/** The parts of ObjectMeta this project reads. Everything else passes through untouched. */
export const objectMetaSchema = z.looseObject({
  name: z.string().min(1).max(253),
  generation: z.number().int().optional(),
  resourceVersion: z.string().optional(),
  uid: z.string().optional(),
  creationTimestamp: z.string().optional(),
  labels: z.record(z.string(), z.string()).optional(),
  annotations: z.record(z.string(), z.string()).optional(),
  deletionTimestamp: z.string().optional(),
  finalizers: z.array(z.string()).optional(),
});
