import { isDeepStrictEqual } from "node:util";
import { nodeProbeSchema, nodeStateNodeName, type NodeProbe } from "../api/v1alpha1/node-state.js";
import {
  classFacts,
  nodeClassKey,
  nodeInputFromObject,
  nodeObjectSchema,
  prepareNode,
  type ClassMembers,
  type DefaultPlacement,
  type NodeInput,
  type PreparedNode,
  type PreparedPolicy,
} from "../rules/index.js";
import { LabelIndex } from "./label-index.js";

/** Nodes of equal facts (OS, kernel, probe, placement): judged once per request, whatever their number. */
interface NodeClass {
  readonly key: string;
  readonly facts: PreparedNode;
  members: number;
  /** Scratch for select(): this request's members, reset at the start of each request. */
  picked: string[] | undefined;
}

interface Slot {
  readonly id: number;
  /** Only what the engine reads of the Node (name, labels, OS, kernel), not the whole object. */
  readonly input: NodeInput;
  cls: NodeClass;
}

/**
 * Nodes and their probes, digested for the engine and kept up to date one event at a time.
 *
 * A request's cost must grow with the number of distinct node classes, not with the fleet:
 * - the policy's nodeSelector is answered by an inverted label index (key -> value -> node ids), not a
 *   scan of every node's labels;
 * - each node belongs to a class of equal facts, prepared when the node or its probe changes; a request
 *   judges each selected class once (evaluateClasses in src/rules) and names its nodes.
 */
export class NodeIndex {
  private readonly slots = new Map<string, Slot>();
  private readonly byId: (Slot | undefined)[] = [];
  private readonly freeIds: number[] = [];
  private readonly labels = new LabelIndex();
  private readonly classes = new Map<string, NodeClass>();
  private readonly probes = new Map<string, NodeProbe>();
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
    const old = this.slots.get(input.name);
    if (old && isDeepStrictEqual(old.input, input)) return; // a status heartbeat: nothing the engine reads changed
    let id: number;
    if (old) {
      id = old.id;
      this.labels.remove(id, old.input.labels);
      this.leave(old.cls);
    } else {
      id = this.freeIds.pop() ?? this.byId.length;
    }
    const slot: Slot = { id, input, cls: this.classFor(input) };
    this.slots.set(input.name, slot);
    this.byId[id] = slot;
    this.labels.add(id, input.labels);
  }

  deleteNode(name: string): void {
    const slot = this.slots.get(name);
    if (!slot) return;
    this.slots.delete(name);
    this.byId[slot.id] = undefined;
    this.freeIds.push(slot.id);
    this.labels.remove(slot.id, slot.input.labels);
    this.leave(slot.cls);
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
    this.reclassify(name);
  }

  deleteState(obj: unknown): void {
    const name = nodeStateNodeName(obj);
    if (name === undefined) return;
    this.probes.delete(name);
    this.reclassify(name);
  }

  /**
   * The nodes the policy selects, grouped by class: what evaluateClasses judges. Costs one visit per
   * selected node (to name it) plus one per term of the selector; no node's labels are read.
   */
  select(policy: PreparedPolicy): ClassMembers[] {
    if (policy.spec === undefined) return [];
    const picked: NodeClass[] = [];
    this.labels.select(policy.spec.nodeSelector, (id) => {
      const slot = this.byId[id] as Slot;
      const cls = slot.cls;
      if (cls.picked === undefined) {
        cls.picked = [];
        picked.push(cls);
      }
      cls.picked.push(slot.input.name);
    });
    return picked.map((cls) => {
      const nodes = cls.picked as string[];
      cls.picked = undefined;
      return { facts: cls.facts, nodes };
    });
  }

  /** One node as the engine sees it (for tests and debugging; requests never build these). */
  node(name: string): PreparedNode | undefined {
    const slot = this.slots.get(name);
    return slot && this.prepare(slot.input);
  }

  /** Every node as the engine sees it, one by one (for tests and debugging). */
  nodes(): PreparedNode[] {
    return [...this.slots.values()].map((s) => this.prepare(s.input));
  }

  get size(): number {
    return this.slots.size;
  }

  /** Distinct classes of node facts: what a request's judging cost grows with. */
  get classCount(): number {
    return this.classes.size;
  }

  private prepare(input: NodeInput): PreparedNode {
    return prepareNode({ ...input, probe: this.probes.get(input.name) }, this.defaults);
  }

  private classFor(input: NodeInput): NodeClass {
    const prepared = this.prepare(input);
    const key = nodeClassKey(prepared);
    let cls = this.classes.get(key);
    if (!cls) {
      cls = { key, facts: classFacts(prepared), members: 0, picked: undefined };
      this.classes.set(key, cls);
    }
    cls.members++;
    return cls;
  }

  private leave(cls: NodeClass): void {
    cls.members--;
    if (cls.members === 0) this.classes.delete(cls.key);
  }

  private reclassify(name: string): void {
    const slot = this.slots.get(name);
    if (!slot) return;
    const cls = this.classFor(slot.input);
    this.leave(slot.cls);
    slot.cls = cls;
  }
}
