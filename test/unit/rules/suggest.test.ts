import { describe, expect, it } from "vitest";
import { catalogNames, closest } from "../../../src/rules/index.js";
import { editDistance } from "../../../src/rules/suggest.js";

describe("closest (did you mean)", () => {
  it.each([
    ["a dropped letter", "net.ipv4.tcp_fin_timout", "net.ipv4.tcp_fin_timeout"],
    ["swapped letters", "net.ipv4.tcp_tw_resue", "net.ipv4.tcp_tw_reuse"],
    ["a wrong tree", "net.ipv6.tcp_tw_reuse", "net.ipv4.tcp_tw_reuse"],
    ["a wrong tree for a core key", "net.ipv4.somaxconn", "net.core.somaxconn"],
    ["a dash for an underscore", "net.ipv4.tcp-keepalive-time", "net.ipv4.tcp_keepalive_time"],
    ["an extra letter", "net.ipv4.tcp_syn_retriess", "net.ipv4.tcp_syn_retries"],
  ])("suggests the catalog key for %s", (_what, word, expected) => {
    expect(closest(word, catalogNames())).toBe(expected);
  });

  it.each([
    ["an unrelated networking key", "net.core.bpf_jit_enable"],
    ["an unrelated word", "vm.swappiness"],
    ["an empty name", ""],
  ])("suggests nothing for %s", (_what, word) => {
    expect(closest(word, catalogNames())).toBeUndefined();
  });

  it("suggests nothing from an empty list", () => {
    expect(closest("net.ipv4.tcp_tw_reuse", [])).toBeUndefined();
  });
});

describe("editDistance", () => {
  it.each([
    ["", "", 0],
    ["abc", "abc", 0],
    ["abc", "abd", 1],
    ["abc", "ab", 1],
    ["kitten", "sitting", 3],
  ] as const)("between %j and %j is %i", (a, b, d) => {
    expect(editDistance(a, b)).toBe(d);
  });

  it("stops early past the bound and says so with bound + 1", () => {
    expect(editDistance("aaaaaaaa", "bbbbbbbb", 2)).toBe(3);
    expect(editDistance("a", "abcdef", 2)).toBe(3);
  });
});
