/**
 * Exponential backoff for anything that retries the API server: the delay doubles from `initialMs`
 * up to `maxMs` and returns to `initialMs` on `reset()` (the next success). With `jitter` (a fraction,
 * e.g. 0.2 for +-20 %), many callers that failed together (a fleet of agents) do not retry in step.
 */
export interface BackoffOptions {
  readonly initialMs: number;
  readonly maxMs: number;
  /** Fraction of the delay to spread either way; 0 (default) for none. */
  readonly jitter?: number;
  /** [0, 1): the jitter's source (tests pin it). */
  readonly random?: () => number;
}

export class Backoff {
  private currentMs: number;

  constructor(private readonly options: BackoffOptions) {
    this.currentMs = options.initialMs;
  }

  /** The delay to wait after this failure; the one after the next failure is twice as long. */
  next(): number {
    const base = this.currentMs;
    this.currentMs = Math.min(this.currentMs * 2, this.options.maxMs);
    const jitter = this.options.jitter ?? 0;
    if (jitter === 0) return base;
    return base * (1 - jitter + 2 * jitter * (this.options.random ?? Math.random)());
  }

  reset(): void {
    this.currentMs = this.options.initialMs;
  }
}
