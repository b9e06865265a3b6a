import type { LabelSelector } from "../api/meta.js";

export type LabelMatcher = (labels: Readonly<Record<string, string>>) => boolean;

const MATCH_ALL: LabelMatcher = () => true;

/** Compiles a metav1.LabelSelector; absent or {} matches everything, as in Kubernetes. */
export function compileSelector(selector: LabelSelector | undefined): LabelMatcher {
  if (!selector) return MATCH_ALL;
  const tests: LabelMatcher[] = [];
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) tests.push((l) => l[k] === v);
  for (const req of selector.matchExpressions ?? []) {
    const values = new Set(req.values ?? []);
    const key = req.key;
    switch (req.operator) {
      case "In":
        tests.push((l) => l[key] !== undefined && values.has(l[key]));
        break;
      case "NotIn":
        tests.push((l) => l[key] === undefined || !values.has(l[key]));
        break;
      case "Exists":
        tests.push((l) => l[key] !== undefined);
        break;
      case "DoesNotExist":
        tests.push((l) => l[key] === undefined);
        break;
    }
  }
  if (tests.length === 0) return MATCH_ALL;
  return (labels) => {
    for (const t of tests) if (!t(labels)) return false;
    return true;
  };
}
