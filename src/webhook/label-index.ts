import type { LabelSelector } from "../api/v1alpha1/meta.js";

type Ids = ReadonlySet<number>;
const NONE: Ids = new Set();

interface KeyPostings {
  /** Every id with the key, whatever the value. */
  readonly all: Set<number>;
  readonly values: Map<string, Set<number>>;
}

/** One selector requirement, resolved to the id sets it reads. */
interface Term {
  /** An id passes when it is in one of the sets (positive) or in none of them (negative). */
  readonly sets: readonly Ids[];
  readonly negative: boolean;
  /** How many ids a positive term admits: the smallest one drives the selection. */
  readonly size: number;
}

/**
 * An inverted index of labels: key -> value -> ids, and key -> ids. A selector is answered from the
 * id sets of its terms, starting from the smallest positive one, so its cost grows with the number of
 * nodes it can match, not with the fleet. The same semantics as compileSelector in src/rules (absent
 * or {} matches all; In needs the key with a listed value; NotIn and DoesNotExist match a missing key),
 * held equal by a property test.
 */
export class LabelIndex {
  private readonly keys = new Map<string, KeyPostings>();
  private readonly everyone = new Set<number>();

  get size(): number {
    return this.everyone.size;
  }

  add(id: number, labels: Readonly<Record<string, string>>): void {
    this.everyone.add(id);
    for (const [k, v] of Object.entries(labels)) {
      if (typeof v !== "string") continue;
      let p = this.keys.get(k);
      if (!p) {
        p = { all: new Set(), values: new Map() };
        this.keys.set(k, p);
      }
      p.all.add(id);
      let ids = p.values.get(v);
      if (!ids) {
        ids = new Set();
        p.values.set(v, ids);
      }
      ids.add(id);
    }
  }

  /** Removes an id; `labels` must be the ones it was added with. */
  remove(id: number, labels: Readonly<Record<string, string>>): void {
    this.everyone.delete(id);
    for (const [k, v] of Object.entries(labels)) {
      const p = this.keys.get(k);
      if (!p) continue;
      p.all.delete(id);
      const ids = p.values.get(v);
      if (ids) {
        ids.delete(id);
        if (ids.size === 0) p.values.delete(v);
      }
      if (p.all.size === 0) this.keys.delete(k);
    }
  }

  /** Calls visit with every id whose labels the selector matches (each once). */
  select(selector: LabelSelector | undefined, visit: (id: number) => void): void {
    const terms: Term[] = [];
    for (const [k, v] of Object.entries(selector?.matchLabels ?? {})) terms.push(this.positive(k, [v]));
    for (const req of selector?.matchExpressions ?? []) {
      switch (req.operator) {
        case "In":
          terms.push(this.positive(req.key, req.values ?? []));
          break;
        case "NotIn":
          terms.push({ ...this.positive(req.key, req.values ?? []), negative: true });
          break;
        case "Exists":
          terms.push(this.exists(req.key, false));
          break;
        case "DoesNotExist":
          terms.push(this.exists(req.key, true));
          break;
      }
    }
    let driver: Term | undefined;
    for (const t of terms) if (!t.negative && (driver === undefined || t.size < driver.size)) driver = t;
    if (driver?.size === 0) return;
    const rest = terms.filter((t) => t !== driver);
    const passes = (id: number): boolean => {
      for (const t of rest) {
        let inSome = false;
        for (const s of t.sets) {
          if (s.has(id)) {
            inSome = true;
            break;
          }
        }
        if (inSome === t.negative) return false;
      }
      return true;
    };
    // A node has one value per key, so the sets of one term never share an id: no duplicates.
    for (const s of driver ? driver.sets : [this.everyone]) for (const id of s) if (passes(id)) visit(id);
  }

  private positive(key: string, values: readonly string[]): Term {
    const p = this.keys.get(key);
    const sets: Ids[] = [];
    let size = 0;
    for (const v of new Set(values)) {
      const ids = p?.values.get(v);
      if (ids) {
        sets.push(ids);
        size += ids.size;
      }
    }
    return { sets, negative: false, size };
  }

  private exists(key: string, negative: boolean): Term {
    const all = this.keys.get(key)?.all ?? NONE;
    return { sets: [all], negative, size: all.size };
  }
}
