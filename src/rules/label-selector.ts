import type { LabelSelector } from "../api/v1alpha1/meta.js";

export type LabelMatcher = (labels: Readonly<Record<string, string>>) => boolean;

const MATCH_ALL: LabelMatcher = () => true;

/**
 * A label's value, read as an OWN property only: a selector on `constructor`, `toString` or
 * `__proto__` must never see Object.prototype through a plain labels object.
 */
export function labelValue(labels: Readonly<Record<string, string>>, key: string): string | undefined {
  if (!Object.hasOwn(labels, key)) return undefined;
  const v = labels[key];
  return typeof v === "string" ? v : undefined;
}

/** Compiles a metav1.LabelSelector; absent or {} matches everything, as in Kubernetes. */
export function compileSelector(selector: LabelSelector | undefined): LabelMatcher {
  if (!selector) return MATCH_ALL;
  const tests: LabelMatcher[] = [];
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) tests.push((l) => labelValue(l, k) === v);
  for (const req of selector.matchExpressions ?? []) {
    const values = new Set(req.values ?? []);
    const key = req.key;
    switch (req.operator) {
      case "In":
        tests.push((l) => {
          const v = labelValue(l, key);
          return v !== undefined && values.has(v);
        });
        break;
      case "NotIn":
        tests.push((l) => {
          const v = labelValue(l, key);
          return v === undefined || !values.has(v);
        });
        break;
      case "Exists":
        tests.push((l) => labelValue(l, key) !== undefined);
        break;
      case "DoesNotExist":
        tests.push((l) => labelValue(l, key) === undefined);
        break;
    }
  }
  if (tests.length === 0) return MATCH_ALL;
  if (tests.length === 1) return tests[0] as LabelMatcher;
  return (labels) => {
    for (const t of tests) if (!t(labels)) return false;
    return true;
  };
}
