import { z } from "zod";
import { OS_LABEL } from "../api/v1alpha1/labels.js";
import { nodeProbeSchema, type NodeProbe } from "../api/v1alpha1/node-state.js";
import { parseKernelVersion, type KernelVersion } from "./kernel-version.js";
import { labelValue } from "./label-selector.js";
import { placementFromLabels, type DefaultPlacement, type Placement } from "./placement.js";
import { normalizeSysctlValue } from "./value-grammar.js";

/**
 * The subset of a core/v1 Node the engine reads, as `kubectl get nodes -o yaml` prints it.
 * Loose: every other field passes through.
 */
export const nodeObjectSchema = z.looseObject({
  apiVersion: z.string().optional(),
  kind: z.literal("Node"),
  metadata: z.looseObject({
    name: z.string().min(1),
    labels: z.record(z.string(), z.string()).nullish(),
  }),
  status: z
    .looseObject({
      nodeInfo: z
        .looseObject({
          kernelVersion: z.string().nullish(),
          operatingSystem: z.string().nullish(),
        })
        .nullish(),
    })
    .nullish(),
});
export type NodeObject = z.infer<typeof nodeObjectSchema>;

/** Everything the engine knows about one node. Plain data: the same from a file, an informer or a test. */
export interface NodeInput {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly operatingSystem?: string | undefined;
  readonly kernelVersion?: string | undefined;
  /** What the node agent probed (TcpTuningNodeState status.probe); beats the version string. */
  readonly probe?: NodeProbe | undefined;
}

export const nodeInputSchema = z.object({
  name: z.string().min(1),
  labels: z.record(z.string(), z.string()),
  operatingSystem: z.string().optional(),
  kernelVersion: z.string().optional(),
  probe: nodeProbeSchema.optional(),
});

export function nodeInputFromObject(node: NodeObject, probe?: NodeProbe): NodeInput {
  const labels = node.metadata.labels ?? {};
  return {
    name: node.metadata.name,
    labels,
    operatingSystem: node.status?.nodeInfo?.operatingSystem || labelValue(labels, OS_LABEL) || undefined,
    kernelVersion: node.status?.nodeInfo?.kernelVersion ?? undefined,
    probe,
  };
}

/** A node digested once, so a policy can be judged against thousands of nodes cheaply. */
export interface PreparedNode {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly linux: boolean;
  readonly os: string;
  /** From the probe's kernel release when there is one, else from nodeInfo.kernelVersion. */
  readonly kernel: KernelVersion | undefined;
  readonly kernelText: string;
  readonly placement: Placement;
  /**
   * Probed keys: name -> normalised value; null when the key does not exist on the node; undefined
   * when it exists but the agent left its value out (too long for status, or unreadable).
   */
  readonly probed: ReadonlyMap<string, string | null | undefined> | undefined;
}

export function prepareNode(input: NodeInput, defaults: DefaultPlacement = {}): PreparedNode {
  const os = (input.operatingSystem || labelValue(input.labels, OS_LABEL) || "linux").toLowerCase();
  // An empty or unreadable probe release must not hide a good nodeInfo.kernelVersion.
  const probed = input.probe?.kernelRelease?.trim() ?? "";
  const reported = input.kernelVersion?.trim() ?? "";
  const fromProbe = probed !== "" ? parseKernelVersion(probed) : undefined;
  const kernelText = fromProbe ? probed : reported !== "" ? reported : probed;
  const kernel = fromProbe ?? parseKernelVersion(reported);
  let keys: Map<string, string | null | undefined> | undefined;
  if (input.probe) {
    keys = new Map();
    // A present key without a value is "exists, value unknown", never the empty string.
    for (const k of input.probe.keys) keys.set(k.name, k.present ? (k.value === undefined ? undefined : normalizeSysctlValue(k.value)) : null);
  }
  return {
    name: input.name,
    labels: input.labels,
    linux: os === "linux",
    os,
    kernel,
    kernelText,
    placement: placementFromLabels(input.labels, defaults),
    probed: keys,
  };
}

/**
 * Whether a key exists on the node: the probe's answer when it probed that key,
 * else undefined (the caller falls back to the catalog's kernel versions).
 */
export function probedPresence(node: PreparedNode, name: string): boolean | undefined {
  if (!node.probed || !node.probed.has(name)) return undefined;
  return node.probed.get(name) !== null;
}

export function probedValue(node: PreparedNode, name: string): string | undefined {
  return node.probed?.get(name) ?? undefined;
}
