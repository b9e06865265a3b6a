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

const INTEGER = /^-?\d{1,12}$/;

function int(text: string): number | undefined {
  return INTEGER.test(text) ? Number(text) : undefined;
}

function fail(reason: string): ParseResult {
  return { ok: false, reason };
}

function inBounds(n: number, min: number, max: number): boolean {
  return n >= min && n <= max;
}

/** Parses a sysctl.conf-style value against the catalog's grammar for its key. */
export function parseValue(grammar: ValueGrammar, raw: string): ParseResult {
  const normalized = normalizeSysctlValue(raw);
  const fields = normalized === "" ? [] : normalized.split(" ");
  switch (grammar.kind) {
    case "int":
    case "enum": {
      if (fields.length !== 1) return fail(`expected one integer, got ${JSON.stringify(raw)}`);
      const n = int(fields[0] ?? "");
      if (n === undefined) return fail(`expected an integer, got ${JSON.stringify(raw)}`);
      if (grammar.kind === "int") {
        if (!inBounds(n, grammar.min, grammar.max)) return fail(`${n} is outside ${grammar.min}..${grammar.max}${grammar.unit ? ` ${grammar.unit}` : ""}`);
        return { ok: true, value: { kind: "int", value: n }, normalized: String(n) };
      }
      if (!grammar.values.some((v) => v.value === n)) {
        return fail(`${n} is not one of ${grammar.values.map((v) => `${v.value} (${v.meaning})`).join(", ")}`);
      }
      return { ok: true, value: { kind: "enum", value: n }, normalized: String(n) };
    }
    case "range": {
      if (fields.length !== 2) return fail(`expected two integers "low high", got ${JSON.stringify(raw)}`);
      const low = int(fields[0] ?? "");
      const high = int(fields[1] ?? "");
      if (low === undefined || high === undefined) return fail(`expected two integers "low high", got ${JSON.stringify(raw)}`);
      if (!inBounds(low, grammar.min, grammar.max) || !inBounds(high, grammar.min, grammar.max)) {
        return fail(`both ports must be within ${grammar.min}..${grammar.max}, got ${low} ${high}`);
      }
      if (low > high) return fail(`low port ${low} is above high port ${high}`);
      return { ok: true, value: { kind: "range", low, high }, normalized: `${low} ${high}` };
    }
    case "triple": {
      if (fields.length !== 3) return fail(`expected three integers "min default max", got ${JSON.stringify(raw)}`);
      const values = fields.map(int);
      const [a, b, c] = values;
      if (a === undefined || b === undefined || c === undefined) return fail(`expected three integers "min default max", got ${JSON.stringify(raw)}`);
      if (![a, b, c].every((n) => inBounds(n, grammar.min, grammar.max))) {
        return fail(`each value must be within ${grammar.min}..${grammar.max}${grammar.unit ? ` ${grammar.unit}` : ""}`);
      }
      if (!(a <= b && b <= c)) return fail(`expected min <= default <= max, got ${a} ${b} ${c}`);
      return { ok: true, value: { kind: "triple", values: [a, b, c] }, normalized: `${a} ${b} ${c}` };
    }
    case "portList": {
      const compact = raw.replace(/\s+/g, "");
      if (compact === "") return { ok: true, value: { kind: "portList", ranges: [] }, normalized: "" };
      const ranges: [number, number][] = [];
      for (const part of compact.split(",")) {
        const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(part);
        if (!m) return fail(`expected a comma list of ports and ranges like "8080,30000-32767", got ${JSON.stringify(raw)}`);
        const low = Number(m[1]);
        const high = m[2] === undefined ? low : Number(m[2]);
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
