import type { ValueGrammar } from "./catalog-types.js";

/** A value as the kernel prints it back: fields separated by single spaces ("32768\t60999" -> "32768 60999"). */
export function normalizeSysctlValue(raw: string): string {
  return raw.trim().split(/\s+/).join(" ");
}

export type ParsedValue =
  | { readonly kind: "int"; readonly value: number }
  | { readonly kind: "enum"; readonly value: number }
  | { readonly kind: "range"; readonly low: number; readonly high: number }
  | { readonly kind: "triple"; readonly values: readonly [number, number, number] }
  | { readonly kind: "portList"; readonly ranges: readonly (readonly [number, number])[] };

export type ParseResult = { readonly ok: true; readonly value: ParsedValue; readonly normalized: string } | { readonly ok: false; readonly reason: string };

const DIGITS = /^-?\d+$/;

/**
 * One decimal integer field. The result is a number, or the reason the field is refused.
 *
 * Leading zeros are refused, on purpose: the kernel reads integer sysctls with base 0
 * (`proc_get_long` -> `strtoul_lenient(p, &p, 0, val)`), so "010" is octal 8 and "08" is refused.
 * A value that means something else than it reads is a mistake either way.
 *
 * Very long digit strings are not refused here: they parse to a huge (or infinite) number and fail
 * the caller's bounds check with an "outside min..max" message, which says what is wrong.
 */
function readInt(text: string): number | { readonly problem: string } {
  if (!DIGITS.test(text)) return { problem: `${JSON.stringify(text)} is not a decimal integer` };
  const digits = text.startsWith("-") ? text.slice(1) : text;
  if (digits.length > 1 && digits.startsWith("0")) {
    const octal = /^[0-7]+$/.test(digits)
      ? `octal, so ${text} means ${text.startsWith("-") ? "-" : ""}${Number.parseInt(digits, 8)}`
      : "octal, and it is not a valid octal number, so the kernel refuses it";
    return { problem: `${JSON.stringify(text)} has a leading zero, which the kernel reads as ${octal}; write the decimal number without leading zeros` };
  }
  const n = Number(text);
  return Object.is(n, -0) ? 0 : n;
}

function fail(reason: string): ParseResult {
  return { ok: false, reason };
}

function inBounds(n: number, min: number, max: number): boolean {
  return n >= min && n <= max;
}

function unitOf(grammar: { readonly unit?: string }): string {
  return grammar.unit ? ` ${grammar.unit}` : "";
}

/** Reads `count` integer fields, or says why they are not. */
function readFields(fields: readonly string[], shape: string, raw: string): number[] | string {
  const out: number[] = [];
  for (const f of fields) {
    const n = readInt(f);
    if (typeof n !== "number") return `expected ${shape}, but ${n.problem}`;
    out.push(n);
  }
  return out.length === fields.length ? out : `expected ${shape}, got ${JSON.stringify(raw)}`;
}

/** Parses a sysctl.conf-style value against the catalog's grammar for its key. Never throws. */
export function parseValue(grammar: ValueGrammar, raw: string): ParseResult {
  const normalized = normalizeSysctlValue(raw);
  const fields = normalized === "" ? [] : normalized.split(" ");
  switch (grammar.kind) {
    case "int":
    case "enum": {
      if (fields.length !== 1) return fail(`expected one integer, got ${JSON.stringify(raw)}`);
      const read = readFields(fields, "an integer", raw);
      if (typeof read === "string") return fail(read);
      const [n] = read as [number];
      if (grammar.kind === "int") {
        if (!inBounds(n, grammar.min, grammar.max)) return fail(`${fields[0]} is outside ${grammar.min}..${grammar.max}${unitOf(grammar)}`);
        return { ok: true, value: { kind: "int", value: n }, normalized: String(n) };
      }
      if (!grammar.values.some((v) => v.value === n)) {
        return fail(`${fields[0]} is not one of ${grammar.values.map((v) => `${v.value} (${v.meaning})`).join(", ")}`);
      }
      return { ok: true, value: { kind: "enum", value: n }, normalized: String(n) };
    }
    case "range": {
      if (fields.length !== 2) return fail(`expected two integers "low high", got ${JSON.stringify(raw)}`);
      const read = readFields(fields, 'two integers "low high"', raw);
      if (typeof read === "string") return fail(read);
      const [low, high] = read as [number, number];
      if (!inBounds(low, grammar.min, grammar.max) || !inBounds(high, grammar.min, grammar.max)) {
        return fail(`both ports must be within ${grammar.min}..${grammar.max}, got ${fields.join(" ")}`);
      }
      if (low > high) return fail(`low port ${low} is above high port ${high}`);
      return { ok: true, value: { kind: "range", low, high }, normalized: `${low} ${high}` };
    }
    case "triple": {
      if (fields.length !== 3) return fail(`expected three integers "min default max", got ${JSON.stringify(raw)}`);
      const read = readFields(fields, 'three integers "min default max"', raw);
      if (typeof read === "string") return fail(read);
      const [a, b, c] = read as [number, number, number];
      if (![a, b, c].every((n) => inBounds(n, grammar.min, grammar.max))) {
        return fail(`each value must be within ${grammar.min}..${grammar.max}${unitOf(grammar)}, got ${fields.join(" ")}`);
      }
      if (!(a <= b && b <= c)) return fail(`expected min <= default <= max, got ${a} ${b} ${c}`);
      return { ok: true, value: { kind: "triple", values: [a, b, c] }, normalized: `${a} ${b} ${c}` };
    }
    case "portList": {
      const compact = raw.replace(/\s+/g, "");
      if (compact === "") return { ok: true, value: { kind: "portList", ranges: [] }, normalized: "" };
      const ranges: [number, number][] = [];
      for (const part of compact.split(",")) {
        const m = /^(\d+)(?:-(\d+))?$/.exec(part);
        if (!m?.[1]) return fail(`expected a comma list of ports and ranges like "8080,30000-32767", got ${JSON.stringify(raw)}`);
        const read = readFields(m[2] === undefined ? [m[1]] : [m[1], m[2]], "a port or a range of ports", raw);
        if (typeof read === "string") return fail(read);
        const low = read[0] as number;
        const high = read[1] ?? low;
        if (!inBounds(low, grammar.min, grammar.max) || !inBounds(high, grammar.min, grammar.max)) {
          return fail(`ports must be within ${grammar.min}..${grammar.max}, got ${part}`);
        }
        if (low > high) return fail(`range ${part} runs backwards`);
        ranges.push([low, high]);
      }
      return { ok: true, value: { kind: "portList", ranges }, normalized: ranges.map(([l, h]) => (l === h ? `${l}` : `${l}-${h}`)).join(",") };
    }
  }
}
