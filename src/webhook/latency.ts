/** The last N durations of something, with percentiles: enough to report admission latency. */
export class LatencyWindow {
  private readonly samples: number[] = [];
  private next = 0;
  private total = 0;

  constructor(private readonly capacity = 10_000) {}

  record(ms: number): void {
    this.total++;
    if (this.samples.length < this.capacity) this.samples.push(ms);
    else {
      this.samples[this.next] = ms;
      this.next = (this.next + 1) % this.capacity;
    }
  }

  /** How many were recorded since the start (the window keeps only the last `capacity`). */
  get count(): number {
    return this.total;
  }

  /** Nearest-rank percentile of the window, in ms; undefined when empty. */
  percentile(p: number): number | undefined {
    if (this.samples.length === 0) return undefined;
    const sorted = [...this.samples].sort((a, b) => a - b);
    const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
    return sorted[rank - 1];
  }

  summary(): { count: number; p50?: number; p90?: number; p99?: number; max?: number } {
    const out: { count: number; p50?: number; p90?: number; p99?: number; max?: number } = { count: this.total };
    const p50 = this.percentile(50);
    if (p50 === undefined) return out;
    return { count: this.total, p50, p90: this.percentile(90) ?? p50, p99: this.percentile(99) ?? p50, max: this.percentile(100) ?? p50 };
  }
}
