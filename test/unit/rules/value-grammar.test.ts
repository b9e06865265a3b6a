import { describe, expect, it } from "vitest";
import { normalizeSysctlValue, parseValue, type ValueGrammar } from "../../../src/rules/index.js";
import type { ParsedValue } from "../../../src/rules/value-grammar.js";

const INT: ValueGrammar = { kind: "int", min: 0, max: 2147483647 };
const RETRIES: ValueGrammar = { kind: "int", min: 1, max: 127 };
const ENUM: ValueGrammar = {
  kind: "enum",
  values: [
    { value: 0, meaning: "off" },
    { value: 1, meaning: "on" },
    { value: 2, meaning: "loopback", since: "4.18" },
  ],
};
const RANGE: ValueGrammar = { kind: "range", min: 1, max: 65535 };
const TRIPLE: ValueGrammar = { kind: "triple", min: 1, max: 2147483647, unit: "bytes" };
const PORTS: ValueGrammar = { kind: "portList", min: 1, max: 65535 };

type Accepts = readonly [what: string, grammar: ValueGrammar, raw: string, value: ParsedValue, normalized: string];
type Refuses = readonly [what: string, grammar: ValueGrammar, raw: string, reason: RegExp];

const ACCEPTS: readonly Accepts[] = [
  ["an integer", RETRIES, "6", { kind: "int", value: 6 }, "6"],
  ["an integer with surrounding whitespace", RETRIES, " \t6\n", { kind: "int", value: 6 }, "6"],
  ["zero where zero is allowed", INT, "0", { kind: "int", value: 0 }, "0"],
  ["minus zero as zero, as the kernel does", INT, "-0", { kind: "int", value: 0 }, "0"],
  ["the largest int", INT, "2147483647", { kind: "int", value: 2147483647 }, "2147483647"],
  ["a documented enum value", ENUM, "2", { kind: "enum", value: 2 }, "2"],
  ["a port pair", RANGE, "32768 60999", { kind: "range", low: 32768, high: 60999 }, "32768 60999"],
  ["a port pair separated by a tab, normalised to one space", RANGE, "32768\t60999", { kind: "range", low: 32768, high: 60999 }, "32768 60999"],
  ["a port pair with extra spaces", RANGE, "  1024    65535 ", { kind: "range", low: 1024, high: 65535 }, "1024 65535"],
  ["a one-port range", RANGE, "40000 40000", { kind: "range", low: 40000, high: 40000 }, "40000 40000"],
  ["a buffer triple", TRIPLE, "4096 131072 6291456", { kind: "triple", values: [4096, 131072, 6291456] }, "4096 131072 6291456"],
  ["a buffer triple with tabs", TRIPLE, "4096\t87380\t6291456", { kind: "triple", values: [4096, 87380, 6291456] }, "4096 87380 6291456"],
  ["an empty port list", PORTS, "", { kind: "portList", ranges: [] }, ""],
  ["one port", PORTS, "10250", { kind: "portList", ranges: [[10250, 10250]] }, "10250"],
  [
    "ports and ranges",
    PORTS,
    "8080,30000-32767",
    {
      kind: "portList",
      ranges: [
        [8080, 8080],
        [30000, 32767],
      ],
    },
    "8080,30000-32767",
  ],
  [
    "ports and ranges with spaces",
    PORTS,
    " 8080, 30000 - 32767 ",
    {
      kind: "portList",
      ranges: [
        [8080, 8080],
        [30000, 32767],
      ],
    },
    "8080,30000-32767",
  ],
];

const REFUSES: readonly Refuses[] = [
  ["a word", RETRIES, "thirty", /not a decimal integer/],
  ["an empty value", RETRIES, "", /expected one integer/],
  ["two integers for one", RETRIES, "1 2", /expected one integer/],
  ["a sign", RETRIES, "+5", /not a decimal integer/],
  ["a fraction", RETRIES, "5.0", /not a decimal integer/],
  ["hex, which the kernel would read", RETRIES, "0x10", /not a decimal integer/],
  ["an exponent", INT, "1e3", /not a decimal integer/],
  ["a leading zero the kernel reads as octal", RETRIES, "010", /leading zero.*octal, so 010 means 8/],
  ["a leading zero that is not even octal", RETRIES, "08", /not a valid octal number/],
  ["a negative leading zero", INT, "-010", /leading zero/],
  ["one past the bound", RETRIES, "128", /128 is outside 1\.\.127/],
  ["a negative number", INT, "-1", /-1 is outside 0\.\.2147483647/],
  ["an int that overflows 32 bits", INT, "2147483648", /outside 0\.\.2147483647/],
  ["an int that overflows 64 bits", INT, "99999999999999999999999", /99999999999999999999999 is outside/],
  ["an undocumented enum value", ENUM, "3", /3 is not one of 0 \(off\), 1 \(on\), 2 \(loopback\)/],
  ["an enum with a leading zero", ENUM, "01", /leading zero/],
  ["one port for a pair", RANGE, "1024", /two integers "low high"/],
  ["three ports for a pair", RANGE, "1024 2048 4096", /two integers "low high"/],
  ["a pair running backwards", RANGE, "40000 39999", /low port 40000 is above high port 39999/],
  ["a pair from 0", RANGE, "0 65535", /within 1\.\.65535/],
  ["a pair past 65535", RANGE, "1024 65536", /within 1\.\.65535/],
  ["a pair with a leading zero", RANGE, "01024 65535", /leading zero/],
  ["a pair with a comma", RANGE, "1024,65535", /two integers/],
  ["two values for a triple", TRIPLE, "4096 131072", /three integers/],
  ["a triple out of order", TRIPLE, "4096 1 6291456", /min <= default <= max/],
  ["a triple with a zero", TRIPLE, "0 1 2", /within 1\.\.2147483647 bytes/],
  ["a port list with a range running backwards", PORTS, "30000-29999", /runs backwards/],
  ["a port list with port 0", PORTS, "0", /within 1\.\.65535/],
  ["a port list past 65535", PORTS, "65536", /within 1\.\.65535/],
  ["a port list with a leading zero", PORTS, "08080", /leading zero/],
  ["a port list with words", PORTS, "http,https", /comma list of ports/],
  ["a port list with an empty item", PORTS, "8080,,9090", /comma list of ports/],
];

describe("parseValue", () => {
  it.each(ACCEPTS)("accepts %s", (_what, grammar, raw, value, normalized) => {
    expect(parseValue(grammar, raw)).toEqual({ ok: true, value, normalized });
  });

  it.each(REFUSES)("refuses %s", (_what, grammar, raw, reason) => {
    const r = parseValue(grammar, raw);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(reason);
  });
});

describe("normalizeSysctlValue", () => {
  it.each([
    ["32768\t60999", "32768 60999"],
    ["  4096  87380\t 6291456\n", "4096 87380 6291456"],
    ["1", "1"],
    ["", ""],
    [" \t ", ""],
  ])("prints %j back as the kernel does: %j", (raw, normalized) => {
    expect(normalizeSysctlValue(raw)).toBe(normalized);
  });
});
