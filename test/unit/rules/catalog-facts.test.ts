import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CATALOG, evaluatePolicy, lookupSysctl, parseValue, type SysctlSpec } from "../../../src/rules/index.js";
import { findingsOf, node, policyDoc } from "./support.js";

/** The facts the catalog is seeded from (docs/kernel-facts.md). */
const FACTS = readFileSync(join(import.meta.dirname, "..", "..", "..", "docs", "kernel-facts.md"), "utf8");

const spec = (name: string): SysctlSpec => {
  const s = lookupSysctl(name);
  if (!s) throw new Error(`${name} is not in the catalog`);
  return s;
};
const v4 = (short: string) => `net.ipv4.${short}`;
const enumSince = (name: string, value: number) => {
  const g = spec(name).grammar;
  return g.kind === "enum" ? g.values.find((v) => v.value === value) : undefined;
};

/**
 * Each fact: a quote that must still be in kernel-facts.md (so a changed doc fails here and gets
 * re-checked), and what the catalog must say about it.
 */
const FACT_TABLE: readonly (readonly [fact: string, quote: string, check: () => void])[] = [
  [
    "tcp_tw_recycle was removed in 4.12",
    'removed in 4.12 (4396e46187ca "tcp: remove tcp_tw_recycle")',
    () => {
      expect(spec(v4("tcp_tw_recycle"))).toMatchObject({ removedIn: "4.12", absentEquivalent: "0" });
      expect(spec(v4("tcp_tw_recycle")).removedRef).toMatch(/4396e46187ca/);
    },
  ],
  ["tcp_tw_recycle became per-netns in 4.11", "global to 4.10, per-netns in 4.11", () => expect(spec(v4("tcp_tw_recycle")).perNetnsSince).toBe("4.11")],
  [
    "tcp_tw_reuse=2 exists from 4.18",
    "value 2 from 4.18 (79e9fed46038 (2))",
    () => {
      expect(enumSince(v4("tcp_tw_reuse"), 2)).toMatchObject({ since: "4.18" });
      expect(enumSince(v4("tcp_tw_reuse"), 2)?.sinceRef).toMatch(/79e9fed46038/);
      expect(enumSince(v4("tcp_tw_reuse"), 2)?.onOlderKernels ?? "deny").toBe("deny");
    },
  ],
  ["tcp_tw_reuse is per-netns from 4.10", "| 4.10 (built-in default) | Only connect()", () => expect(spec(v4("tcp_tw_reuse")).perNetnsSince).toBe("4.10")],
  [
    "tcp_tw_reuse accepts 0, 1 and 2 only",
    "tcp_tw_reuse 3 / 2 | rejected / accepted",
    () => {
      expect(parseValue(spec(v4("tcp_tw_reuse")).grammar, "3").ok).toBe(false);
      expect(parseValue(spec(v4("tcp_tw_reuse")).grammar, "2").ok).toBe(true);
    },
  ],
  [
    "tcp_tw_reuse_delay exists from 6.14, 1..60000 ms",
    "1..60000 ms | 1000 | from 6.14 (ca6a6f93867a, 19ce8cd30465)",
    () => {
      expect(spec(v4("tcp_tw_reuse_delay"))).toMatchObject({ since: "6.14", grammar: { kind: "int", min: 1, max: 60000 }, defaultValue: "1000" });
    },
  ],
  [
    "tcp_timestamps=2 exists from 4.10, and older kernels only warn",
    "value 2 from 4.10 (25429d7b7dca (2))",
    () => {
      expect(enumSince(v4("tcp_timestamps"), 2)).toMatchObject({ since: "4.10", onOlderKernels: "warn" });
      expect(enumSince(v4("tcp_timestamps"), 2)?.olderKernels).toMatch(/same/);
    },
  ],
  ["tcp_timestamps is per-netns from 4.13", "| 4.13 (1) |", () => expect(spec(v4("tcp_timestamps")).perNetnsSince).toBe("4.13")],
  [
    "tcp_timestamps=3 is refused although the kernel takes it",
    "the catalog should still refuse undocumented values",
    () => expect(parseValue(spec(v4("tcp_timestamps")).grammar, "3").ok).toBe(false),
  ],
  [
    "tcp_max_tw_buckets refuses negatives",
    "refuse negatives in the catalog",
    () => {
      expect(parseValue(spec(v4("tcp_max_tw_buckets")).grammar, "-1").ok).toBe(false);
      expect(spec(v4("tcp_max_tw_buckets")).perNetnsSince).toBe("4.11");
    },
  ],
  [
    "tcp_fin_timeout is per-netns from 4.6 and takes numbers only",
    'tcp_fin_timeout "thirty" | rejected',
    () => {
      expect(spec(v4("tcp_fin_timeout")).perNetnsSince).toBe("4.6");
      expect(parseValue(spec(v4("tcp_fin_timeout")).grammar, "thirty").ok).toBe(false);
    },
  ],
  [
    "ip_local_port_range is 1..65535, low <= high, per-netns from 3.13",
    '"low high", 1..65535, low <= high',
    () => {
      const s = spec(v4("ip_local_port_range"));
      expect(s).toMatchObject({ grammar: { kind: "range", min: 1, max: 65535 }, perNetnsSince: "3.13" });
      expect(parseValue(s.grammar, "65000 1024").ok).toBe(false);
      expect(parseValue(s.grammar, "0 65535").ok).toBe(false);
      expect(parseValue(s.grammar, "1024 65535").ok).toBe(true);
    },
  ],
  [
    "ip_local_reserved_ports exists from 2.6.35 and is per-netns from 3.16",
    "from 2.6.35 (present in 3.6) | 3.16 (empty)",
    () => {
      expect(spec(v4("ip_local_reserved_ports"))).toMatchObject({ since: "2.6.35", perNetnsSince: "3.16", grammar: { kind: "portList" } });
    },
  ],
  [
    "tcp_syn_retries is 1..127",
    "tcp_syn_retries 0 / 127 / 128 | rejected / accepted / rejected",
    () => {
      expect(spec(v4("tcp_syn_retries"))).toMatchObject({ grammar: { kind: "int", min: 1, max: 127 }, perNetnsSince: "4.6" });
    },
  ],
  [
    "tcp_synack_retries is 0..255",
    "| tcp_synack_retries | 0..255 | 5 | always | 4.6 (5)",
    () => expect(spec(v4("tcp_synack_retries"))).toMatchObject({ grammar: { min: 0, max: 255 }, perNetnsSince: "4.6" }),
  ],
  [
    "tcp_retries2 is 0..255 (u8)",
    "tcp_retries2 256, tcp_keepalive_probes 256 | rejected (u8)",
    () => {
      expect(spec(v4("tcp_retries2"))).toMatchObject({ grammar: { min: 0, max: 255 }, perNetnsSince: "4.6" });
      expect(parseValue(spec(v4("tcp_keepalive_probes")).grammar, "256").ok).toBe(false);
    },
  ],
  [
    "tcp_orphan_retries is 0..255",
    "| tcp_orphan_retries | 0..255 |",
    () => expect(spec(v4("tcp_orphan_retries"))).toMatchObject({ grammar: { min: 0, max: 255 }, perNetnsSince: "4.6" }),
  ],
  [
    "tcp_max_syn_backlog is per-netns from 4.11",
    "| always | 4.11 | Capped by somaxconn",
    () => expect(spec(v4("tcp_max_syn_backlog")).perNetnsSince).toBe("4.11"),
  ],
  [
    "somaxconn is capped at 65535 before 4.1 (u16) and above it accepted later",
    "Capped at 65535 up to 4.0; larger values rejected there",
    () => {
      const s = spec("net.core.somaxconn");
      expect(s.limits).toEqual([expect.objectContaining({ before: "4.1", max: 65535 })]);
      expect(parseValue(s.grammar, "131072").ok).toBe(true);
      expect(s.perNetnsSince).toBe("2.6.32");
    },
  ],
  [
    "somaxconn's default became 4096 in 5.4",
    "128; 4096 from 5.4 (19f92a030ca6)",
    () => expect(spec("net.core.somaxconn").defaultValue).toMatch(/4096 from 5\.4/),
  ],
  [
    "tcp_syncookies takes 0, 1, 2",
    "| tcp_syncookies | 0, 1, 2 | 1 | always | 4.6 (1)",
    () => {
      const g = spec(v4("tcp_syncookies")).grammar;
      expect(g.kind === "enum" ? g.values.map((v) => v.value) : []).toEqual([0, 1, 2]);
    },
  ],
  [
    "keepalive keys are per-netns from 4.5",
    "| 7200 / 75 / 9 | always | 4.5 |",
    () => {
      for (const k of ["tcp_keepalive_time", "tcp_keepalive_intvl", "tcp_keepalive_probes"]) expect(spec(v4(k)).perNetnsSince).toBe("4.5");
    },
  ],
  ["tcp_rfc1337 is per-netns from 4.15", "| tcp_rfc1337 | 0/1 | 0 | always | 4.15 |", () => expect(spec(v4("tcp_rfc1337")).perNetnsSince).toBe("4.15")],
  [
    "tcp_rmem and tcp_wmem are copied into a new netns",
    "a NEW netns COPIES the host values at creation",
    () => {
      for (const k of ["tcp_rmem", "tcp_wmem"])
        expect(spec(v4(k))).toMatchObject({ netns: "per-netns-copied", perNetnsSince: "4.15", grammar: { kind: "triple" } });
    },
  ],
  [
    "nf_conntrack_max is one value per host and needs the module",
    "global (one value per host)",
    () => {
      expect(spec("net.netfilter.nf_conntrack_max")).toMatchObject({ netns: "global", requiresModule: "nf_conntrack" });
    },
  ],
  [
    "nf_conntrack_tcp_timeout_time_wait is per-netns and needs the module",
    "| s | 120 | with nf_conntrack loaded | per-netns |",
    () => {
      expect(spec("net.netfilter.nf_conntrack_tcp_timeout_time_wait")).toMatchObject({
        netns: "per-netns-default",
        requiresModule: "nf_conntrack",
        defaultValue: "120",
      });
    },
  ],
  [
    "only the kubelet's safe sysctls are marked as settable by pods",
    "`tcp_tw_reuse` is not on the safe list",
    () => {
      const safe = CATALOG.filter((s) => s.kubeletSafeSince !== undefined)
        .map((s) => s.name.replace(/^net\.ipv4\./, ""))
        .sort();
      expect(safe).toEqual([
        "ip_local_port_range",
        "ip_local_reserved_ports",
        "ip_unprivileged_port_start",
        "tcp_fin_timeout",
        "tcp_keepalive_intvl",
        "tcp_keepalive_probes",
        "tcp_keepalive_time",
        "tcp_rmem",
        "tcp_syncookies",
        "tcp_wmem",
      ]);
      expect(spec(v4("tcp_fin_timeout")).kubeletSafeSince).toBe("1.29");
      expect(spec(v4("tcp_rmem")).kubeletSafeSince).toBe("1.32");
    },
  ],
];

describe("the catalog against kernel-facts.md", () => {
  it.each(FACT_TABLE)("%s", (_fact, quote, check) => {
    expect(FACTS, "the quoted fact is still in kernel-facts.md").toContain(quote);
    check();
  });

  it("has every sysctl of the facts table", () => {
    const table = FACTS.slice(FACTS.indexOf("## The sysctls"), FACTS.indexOf("## Network namespaces"));
    const keys = new Set<string>();
    for (const line of table.split("\n")) {
      const first = /^\| ([a-z0-9_./ ]+) \|/.exec(line)?.[1];
      if (!first || first === "sysctl") continue;
      // "tcp_keepalive_time / _intvl / _probes", "tcp_rmem / tcp_wmem"
      const parts = first.split(" / ");
      const stem = parts[0]?.slice(0, parts[0].lastIndexOf("_")) ?? "";
      for (const p of parts) keys.add(p.startsWith("_") ? stem + p : p);
    }
    expect(keys.size).toBeGreaterThan(15);
    for (const k of keys) expect(lookupSysctl(k.startsWith("net.") ? k : v4(k)), k).toBeDefined();
  });

  it.each(CATALOG.map((s) => [s.name, s] as const))("%s has a summary, a default, references, and a source for each version it names", (_name, s) => {
    expect(s.summary.trim()).not.toBe("");
    expect(s.defaultValue.trim()).not.toBe("");
    expect(s.references.length).toBeGreaterThan(0);
    for (const r of s.references) expect(r.title.trim()).not.toBe("");
    if (s.since) expect(s.sinceRef).toBeTruthy();
    if (s.removedIn) expect(s.removedRef).toBeTruthy();
    if (s.grammar.kind === "enum") for (const v of s.grammar.values) if (v.since) expect(v.sinceRef).toBeTruthy();
    for (const l of s.limits ?? []) expect(l.why.trim()).not.toBe("");
  });

  it("names each key once, with dots, under the trees in scope", () => {
    const names = CATALOG.map((s) => s.name);
    expect(new Set(names).size).toBe(names.length);
    for (const n of names) expect(n).toMatch(/^net\.(ipv4|core|netfilter)\.[a-z0-9_]+$/);
  });
});

describe("the catalog's versions as the rules apply them", () => {
  it.each([
    ["tcp_tw_recycle", "1", "4.11.12-200.fc25.x86_64", []],
    ["tcp_tw_recycle", "1", "4.12.0", ["TT011"]],
    ["tcp_tw_reuse", "2", "4.17.19", ["TT013"]],
    ["tcp_tw_reuse", "2", "4.18.0-553.el8_10.x86_64", []],
    ["tcp_timestamps", "2", "4.9.0-19-amd64", ["TT013"]],
    ["tcp_timestamps", "2", "4.10.0", []],
    ["tcp_tw_reuse_delay", "1000", "6.13.12", ["TT011"]],
    ["tcp_tw_reuse_delay", "1000", "6.14.0-rc1", []],
    ["ip_local_reserved_ports", "10250", "2.6.34", ["TT011"]],
    ["ip_local_reserved_ports", "10250", "2.6.35", []],
    ["ip_unprivileged_port_start", "1024", "4.10.17", ["TT011"]],
    ["ip_unprivileged_port_start", "1024", "4.11.0", []],
  ] as const)("%s=%s on %s: version findings %j", (key, value, kernel, rules) => {
    const report = evaluatePolicy(policyDoc([[v4(key), value]]), [node("n", kernel)]);
    const versionRules = ["TT011", "TT013"].filter((r) => findingsOf(report, r).length > 0);
    expect(versionRules).toEqual(rules);
  });
});
