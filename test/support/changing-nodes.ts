/**
 * How many nodes are changing at once, read from TcpTuningNodeState watch events: a node is
 * changing from the event where its spec moved to a generation its agent has not reported yet
 * (metadata.generation > status.observedGeneration) until the event where its agent reports that
 * generation. Pure: feed it the events in the order the watch delivered them.
 */

export interface NodeStateEventLike {
  readonly type: "ADDED" | "MODIFIED" | "DELETED";
  readonly object: {
    readonly metadata?: { readonly name?: string; readonly generation?: number };
    readonly spec?: { readonly nodeName?: string };
    readonly status?: { readonly observedGeneration?: number };
  };
}

export class ChangingNodes {
  private readonly changing = new Set<string>();
  /** The number changing after each event. */
  readonly series: number[] = [];
  /** Each node's first finished change, as an index into series. */
  readonly firstDone = new Map<string, number>();
  /** The order in which nodes started changing. */
  readonly started: string[] = [];

  constructor(private readonly include: (name: string) => boolean = () => true) {}

  add(e: NodeStateEventLike): void {
    const name = e.object.metadata?.name;
    if (!name || !this.include(name)) return;
    const generation = e.object.metadata?.generation ?? 0;
    const observed = e.object.status?.observedGeneration;
    // A node state no agent has reported on yet is changing too (its first spec is on its way).
    const isChanging = e.type !== "DELETED" && generation > (observed ?? 0);
    if (isChanging && !this.changing.has(name)) {
      this.changing.add(name);
      this.started.push(name);
    } else if (!isChanging && this.changing.delete(name) && !this.firstDone.has(name)) {
      this.firstDone.set(name, this.series.length);
    }
    this.series.push(this.changing.size);
  }

  get max(): number {
    return Math.max(0, ...this.series);
  }

  /** The most nodes changing at once before `index` (exclusive) and from it on. */
  maxBefore(index: number): number {
    return Math.max(0, ...this.series.slice(0, index));
  }

  maxFrom(index: number): number {
    return Math.max(0, ...this.series.slice(index));
  }
}
