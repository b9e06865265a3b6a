/** Levenshtein distance, bounded: returns max+1 as soon as the distance must exceed max. */
export function editDistance(a: string, b: string, max = Infinity): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      const v = Math.min((prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost);
      cur.push(v);
      if (v < rowMin) rowMin = v;
    }
    if (rowMin > max) return max + 1;
    prev = cur;
  }
  return prev[b.length] ?? 0;
}

/** The closest candidate within a third of the word's length (at least 2 edits), if any. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  const tail = (s: string): string => s.slice(s.lastIndexOf(".") + 1);
  const budget = Math.max(2, Math.floor(tail(word).length / 3));
  let best: string | undefined;
  let bestDistance = budget + 1;
  for (const c of candidates) {
    // Compare whole names, and the last segment alone (a wrong prefix like net.ipv6 for net.ipv4).
    const d = Math.min(editDistance(word, c, budget), editDistance(tail(word), tail(c), budget) + (word === c ? 0 : 1));
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}
