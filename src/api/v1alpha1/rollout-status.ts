import { z } from "zod";
import { counterSampleSchema } from "./counters.js";

/**
 * status.rollout of a TcpTuningPolicy: where the gradual rollout of one generation (or of the
 * policy's removal) stands. Written by the controller only; bounded in size whatever the fleet's
 * size (node names only for the current wave and for a few failed nodes).
 */

/** A wave never holds more nodes than this, whatever maxUnavailable says: status lists its nodes. */
export const WAVE_NODES_MAX = 500;
/** Failed nodes listed by name (all are counted). */
export const FAILED_NODES_MAX = 20;
/** Waves listed for the progress view (the first, the last ones and the current one are kept). */
export const WAVES_LISTED_MAX = 40;

/** Annotation: "true" stops starting new waves (the wave in flight still lands and is judged). */
export const PAUSED_ANNOTATION = "tcptuning.io/paused";
/** Annotation: a value that differs from status.rollout.resumeToken resumes a rollout stopped by a failure. */
export const RESUME_ANNOTATION = "tcptuning.io/resume";

export const ROLLOUT_ACTIONS = ["Apply", "Remove"] as const;
export const WAVE_STATES = ["Waiting", "InFlight", "Soaking", "Done", "Failed", "RolledBack"] as const;
export type WaveState = (typeof WAVE_STATES)[number];

export const rolloutNodeCountsSchema = z.object({
  total: z.number().int().min(0).describe("Nodes this rollout changes or has changed."),
  done: z.number().int().min(0).describe("Applied and verified by their agent (or restored, for a removal)."),
  inFlight: z.number().int().min(0).describe("Released, not yet reported applied."),
  waiting: z.number().int().min(0).describe("Not released yet."),
  failed: z.number().int().min(0).describe("Failed to apply or failed the health gate."),
});
export type RolloutNodeCounts = z.infer<typeof rolloutNodeCountsSchema>;

export const failedNodeSchema = z.object({
  name: z.string().max(253),
  wave: z.number().int().min(1),
  reason: z.enum(["ApplyFailed", "HealthGate"]),
  message: z.string().max(1024),
});
export type FailedNode = z.infer<typeof failedNodeSchema>;

export const waveSummarySchema = z.object({
  wave: z.number().int().min(1),
  size: z.number().int().min(0),
  done: z.number().int().min(0),
  failed: z.number().int().min(0),
  state: z.enum(WAVE_STATES),
});
export type WaveSummary = z.infer<typeof waveSummarySchema>;

export const haltSchema = z.object({
  wave: z.number().int().min(1),
  reason: z.enum(["ApplyFailed", "HealthGate"]),
  message: z.string().max(2048),
  at: z.string(),
  rolledBack: z.boolean().optional().describe("The wave's nodes were given back their originals."),
});
export type Halt = z.infer<typeof haltSchema>;

/**
 * A node's counters when its wave started, and its rates before: the health gate measures the wave
 * from here, however long the soak and however short the agent's history.
 */
export const counterBaselineSchema = z.object({
  node: z.string().max(253),
  start: counterSampleSchema.optional().describe("The node's latest sample before its wave was released."),
  before: z.record(z.string(), z.number().min(0)).optional().describe("Its rate of each counter (per second) over the samples before, when there were two."),
});
export type CounterBaseline = z.infer<typeof counterBaselineSchema>;

export const rolloutStatusSchema = z.object({
  generation: z.number().int().min(0).describe("The policy generation this rollout brings to the nodes."),
  action: z.enum(ROLLOUT_ACTIONS).describe("Apply the policy's values, or Remove them (the policy is being deleted)."),
  wave: z.number().int().min(0).describe("The current wave, 1-based; 0 before the first."),
  waves: z.number().int().min(0).describe("Waves planned in all (the current one and those before it included)."),
  waveStartedAt: z.string().optional(),
  waveNodes: z.array(z.string().max(253)).max(WAVE_NODES_MAX).optional().describe("The nodes of the current wave."),
  baselines: z.array(counterBaselineSchema).max(WAVE_NODES_MAX).optional().describe("The current wave's nodes' counters when it started, for the health gate."),
  soakStartedAt: z.string().optional().describe("When every node of the current wave had reported; the soak runs from here."),
  soakSeconds: z.number().int().min(0).optional(),
  waveCompletedAt: z.string().optional().describe("When the current wave was judged (landed, soaked, health gate passed or failed)."),
  nodes: rolloutNodeCountsSchema,
  waveList: z.array(waveSummarySchema).max(WAVES_LISTED_MAX).optional(),
  failedNodes: z.array(failedNodeSchema).max(FAILED_NODES_MAX).optional(),
  halted: haltSchema
    .optional()
    .describe("Set when a failure stopped the rollout (pauseOnFailure); cleared by a spec change or a new tcptuning.io/resume value."),
  paused: z.boolean().optional().describe('tcptuning.io/paused is "true": no new wave starts.'),
  resumeToken: z.string().max(253).optional().describe("The tcptuning.io/resume value last acted on."),
  resumedAt: z.string().optional(),
  completedAt: z.string().optional(),
});
export type RolloutStatus = z.infer<typeof rolloutStatusSchema>;
