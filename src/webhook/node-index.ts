import { nodeProbeSchema, nodeStateNodeName, type NodeProbe } from "../api/v1alpha1/node-state.js";
import { nodeInputFromObject, nodeObjectSchema, prepareNode, type DefaultPlacement, type NodeInput, type PreparedNode } from "../rules/index.js";

/**
 * Nodes and their probes, digested for the engine, kept up to date one event at a time.
 * A node is prepared again only when it or its TcpTuningNodeState changes; a snapshot is an array
 * built at most once per change, so a request costs no preparation at all.
 */
export class NodeIndex {
  /** Only what the engine reads of each Node (name, labels, OS, kernel), not the whole object. */
  private readonly nodes = new Map<string, NodeInput>();
  private readonly probes = new Map<string, NodeProbe>();
  private readonly prepared = new Map<string, PreparedNode>();
  private cached: readonly PreparedNode[] | undefined;
  /** Objects that could not be read (a Node without a name, a probe that does not fit the schema). */
  rejected = 0;

  constructor(private readonly defaults: DefaultPlacement = {}) {}

  upsertNode(obj: unknown): void {
    const parsed = nodeObjectSchema.safeParse(obj && typeof obj === "object" ? { ...obj, kind: "Node" } : obj);
    if (!parsed.success) {
      this.rejected++;
      return;
    }
    const input = nodeInputFromObject(parsed.data);
    this.nodes.set(input.name, input);
    this.prepare(input.name);
  }

  deleteNode(name: string): void {
    this.nodes.delete(name);
    this.prepared.delete(name);
    this.cached = undefined;
  }

  /** A TcpTuningNodeState: its status.probe (when valid) becomes what the engine knows of its node. */
  upsertState(obj: unknown): void {
    const name = nodeStateNodeName(obj);
    if (name === undefined) {
      this.rejected++;
      return;
    }
    const probe = (obj as { status?: { probe?: unknown } }).status?.probe;
    const parsed = probe === undefined ? undefined : nodeProbeSchema.safeParse(probe);
    if (parsed && !parsed.success) this.rejected++;
    if (parsed?.success) this.probes.set(name, parsed.data);
    else this.probes.delete(name);
    if (this.nodes.has(name)) this.prepare(name);
  }

  deleteState(obj: unknown): void {
    const name = nodeStateNodeName(obj);
    if (name === undefined) return;
    this.probes.delete(name);
    if (this.nodes.has(name)) this.prepare(name);
  }

  snapshot(): readonly PreparedNode[] {
    this.cached ??= Object.freeze([...this.prepared.values()]);
    return this.cached;
  }

  get size(): number {
    return this.prepared.size;
  }

  private prepare(name: string): void {
    const input = this.nodes.get(name);
    if (!input) return;
    this.prepared.set(name, prepareNode({ ...input, probe: this.probes.get(name) }, this.defaults));
    this.cached = undefined;
  }
}
