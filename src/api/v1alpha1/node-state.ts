import { z } from "zod";
import { API_GROUP_VERSION, NODE_STATE_KIND } from "./group.js";
import { COUNTER_HISTORY_MAX, counterSampleSchema, healthCounterFields } from "./counters.js";
import { CONDITIONS_LIST_MAP, conditionSchema, objectMetaSchema } from "./meta.js";
import { SYSCTL_ENTRY_VALIDATIONS, SYSCTL_LIST_MAP, SYSCTL_VALUE_MAX } from "./policy.js";
import { SYSCTL_NAME_MAX } from "./sysctl-name.js";

/**
 * TcpTuningNodeState (tcptuning.io/v1alpha1, cluster-scoped, named after its Node): one per node,
 * modelled on the Node Tuning Operator's Profile.
 *
 * - spec is written by the controller only: the values this node should have now, after priority
 *   resolution and the rollout's gating. A key that leaves spec.sysctls is restored by the agent.
 * - status is written by that node's agent only: what it applied, what it replaced (the originals),
 *   what the kernel offers (the probe), drift and TCP counters. The webhook and the controller
 *   prefer status.probe to kernel version tables.
 *
 * metadata.generation changes with every spec change; status.observedGeneration says which spec the
 * agent's status describes, so the controller knows when a wave has landed.
 */

export const desiredSysctlSchema = z
  .object({
    name: z.string().min(1).max(SYSCTL_NAME_MAX),
    value: z.string().max(SYSCTL_VALUE_MAX),
    policy: z.string().max(253).describe("The TcpTuningPolicy that won this key on this node."),
    policyGeneration: z.number().int().min(0).optional().describe("That policy's metadata.generation."),
  })
  .meta({ "x-kubernetes-validations": SYSCTL_ENTRY_VALIDATIONS });
export type DesiredSysctl = z.infer<typeof desiredSysctlSchema>;

export const nodeStateSpecSchema = z.object({
  nodeName: z.string().min(1).max(253),
  sysctls: z.array(desiredSysctlSchema).max(256).optional().meta(SYSCTL_LIST_MAP).describe("Desired values; keys absent here are restored to their originals."),
});
export type NodeStateSpec = z.infer<typeof nodeStateSpecSchema>;

/** One catalog key as this node's kernel offers it. */
export const probedKeySchema = z.object({
  name: z.string().min(1).max(SYSCTL_NAME_MAX),
  present: z.boolean(),
  value: z.string().max(SYSCTL_VALUE_MAX).optional(),
});
export type ProbedKey = z.infer<typeof probedKeySchema>;

export const nodeProbeSchema = z.object({
  kernelRelease: z.string().max(256).describe("uname -r as the agent read it (/proc/sys/kernel/osrelease)."),
  bootId: z.string().max(64).optional().describe("/proc/sys/kernel/random/boot_id when probed: status.originals describe the kernel of this boot only."),
  probedAt: z.string(),
  keys: z
    .array(probedKeySchema)
    .max(256)
    .meta({ "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"] }),
});
export type NodeProbe = z.infer<typeof nodeProbeSchema>;

/**
 * Applied: written and read back equal. Failed: the kernel refused the write or read back something else.
 * Refused: the agent will not write this name or value (not in the catalog's allowlist, bad grammar).
 * Skipped: nothing to write (e.g. tcp_tw_recycle=0 on a kernel without the key).
 * RolledBack: written in this pass, then put back because another key of the same generation failed
 * (a generation is applied all-or-nothing). Pending: not written in this pass for the same reason
 * (or because the generation was refused as a whole).
 * Restored / RestoreFailed: a key no longer desired, put back (or not) to its original value.
 */
export const KEY_RESULTS = ["Applied", "Failed", "Refused", "Skipped", "RolledBack", "Pending", "Restored", "RestoreFailed"] as const;
export type KeyResultState = (typeof KEY_RESULTS)[number];

export const keyResultSchema = z.object({
  name: z.string().min(1).max(SYSCTL_NAME_MAX),
  desired: z.string().max(SYSCTL_VALUE_MAX).optional(),
  actual: z.string().max(SYSCTL_VALUE_MAX).optional().describe("What the kernel reads back now."),
  result: z.enum(KEY_RESULTS),
  message: z.string().max(1024).optional(),
});
export type KeyResult = z.infer<typeof keyResultSchema>;

export const originalValueSchema = z.object({
  name: z.string().min(1).max(SYSCTL_NAME_MAX),
  value: z.string().max(SYSCTL_VALUE_MAX),
  recordedAt: z.string(),
});
export type OriginalValue = z.infer<typeof originalValueSchema>;

export const driftSchema = z.object({
  count: z.number().int().min(0).describe("Times a desired key was found changed by someone else and re-applied."),
  lastDetectedTime: z.string().optional(),
  lastKeys: z.array(z.string().max(SYSCTL_NAME_MAX)).max(256).optional(),
});
export type Drift = z.infer<typeof driftSchema>;

/** TCP counters from /proc/net/netstat (TcpExt), /proc/net/snmp (Tcp) and /proc/net/sockstat, as decimal strings (they can pass 2^53). */
export const tcpCountersSchema = z.object({
  sampledAt: z.string(),
  timeWait: z.string().optional().describe("sockstat TCP tw"),
  twRecycled: z.string().optional(),
  pawsActive: z.string().optional(),
  pawsEstab: z.string().optional(),
  pawsPassive: z.string().optional(),
  tcpTimeWaitOverflow: z.string().optional(),
  ...healthCounterFields,
});
export type TcpCounters = z.infer<typeof tcpCountersSchema>;
export { COUNTER_HISTORY_MAX, counterSampleSchema, HEALTH_COUNTERS, type CounterSample, type HealthCounter } from "./counters.js";

export const NODE_STATE_CONDITION_TYPES = ["Applied", "Drifted", "Degraded"] as const;

export const nodeStateStatusSchema = z.object({
  observedGeneration: z.number().int().min(0).optional(),
  probe: nodeProbeSchema.optional(),
  keys: z
    .array(keyResultSchema)
    .max(256)
    .optional()
    .meta({ "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"] })
    .describe("The result for each key the agent handled at observedGeneration."),
  originals: z
    .array(originalValueSchema)
    .max(256)
    .optional()
    .meta({ "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"] })
    .describe("Values found before this operator first changed each key; restored when the key is no longer desired."),
  drift: driftSchema.optional(),
  counters: tcpCountersSchema.optional(),
  counterHistory: z
    .array(counterSampleSchema)
    .max(COUNTER_HISTORY_MAX)
    .optional()
    .describe("The latest samples of the health counters, oldest first (the rollout's health gate reads rates from them)."),
  conditions: z.array(conditionSchema).optional().meta(CONDITIONS_LIST_MAP),
});
export type NodeStateStatus = z.infer<typeof nodeStateStatusSchema>;

export const nodeStateSchema = z.object({
  apiVersion: z.literal(API_GROUP_VERSION),
  kind: z.literal(NODE_STATE_KIND),
  metadata: objectMetaSchema,
  spec: nodeStateSpecSchema,
  status: nodeStateStatusSchema.optional(),
});
export type NodeState = z.infer<typeof nodeStateSchema>;

/**
 * The node a TcpTuningNodeState (any shape, as read from an informer or a file) describes: spec.nodeName,
 * else its name (the controller names each object after its node). Undefined when it names none.
 */
export function nodeStateNodeName(obj: unknown): string | undefined {
  if (!obj || typeof obj !== "object") return undefined;
  const o = obj as { spec?: { nodeName?: unknown }; metadata?: { name?: unknown } };
  if (typeof o.spec?.nodeName === "string" && o.spec.nodeName !== "") return o.spec.nodeName;
  return typeof o.metadata?.name === "string" && o.metadata.name !== "" ? o.metadata.name : undefined;
}
