import { execFile } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { catalogNames, lookupSysctl } from "../../src/rules/index.js";
import { REPO } from "./support/agent-process.js";
import { SOAK_FACTOR } from "../support/soak.js";
import { expectHostSysctlsUntouched } from "./support/host-guard.js";
import { createNamespace, destroyAllNamespaces } from "./support/netns.js";

/**
 * 10,000 generated sysctl names and values through the agent's writer (src/agent/sysctl-fs.ts) in a
 * fresh network namespace, under strace (issue 14): no file outside /proc/sys/net is opened for
 * writing, none is created, every write opens with O_NOFOLLOW, and the host's sysctls are untouched.
 * Names: catalog keys (except the one global key, nf_conntrack_max, which a namespace would share
 * with the host), their odd spellings, out-of-scope keys and random strings; values: grammar-shaped
 * numbers, ranges, triples and random text. Seed recorded.
 */

const run = promisify(execFile);
const SEED = 20261207;
const RUNS = 10_000 * SOAK_FACTOR;

const perNetns = catalogNames().filter((n) => lookupSysctl(n)?.netns !== "global");
const nameArb = fc.oneof(
  { weight: 5, arbitrary: fc.constantFrom(...perNetns) },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.constantFrom(...perNetns), fc.constantFrom("/", "..", " ", "\n", "\0", "*", "%2f", ".", "/../../kernel/core_pattern", "\u200b"))
      .map(([n, s]) => (s.length > 1 ? n.replaceAll(".", "/") + s : n + s)),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      "kernel.core_pattern",
      "kernel.modprobe",
      "vm.swappiness",
      "fs.suid_dumpable",
      "net.ipv4.conf.all.forwarding",
      "net.ipv6.conf.all.disable_ipv6",
      "net.netfilter.nf_conntrack_max",
    ),
  },
  { weight: 2, arbitrary: fc.string({ maxLength: 60 }) },
);
const valueArb = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: -5, max: 70000 }).map(String) },
  { weight: 2, arbitrary: fc.tuple(fc.integer({ min: 0, max: 70000 }), fc.integer({ min: 0, max: 70000 })).map(([a, b]) => `${a} ${b}`) },
  { weight: 1, arbitrary: fc.tuple(fc.nat(), fc.nat(), fc.nat()).map(([a, b, c]) => `${a}\t${b} ${c}`) },
  { weight: 2, arbitrary: fc.string({ maxLength: 80 }) },
  { weight: 1, arbitrary: fc.constantFrom("|/tmp/x %p", "1\nkernel.core_pattern=|/bin/sh", "../../etc/passwd", "9".repeat(5000)) },
);

interface Open {
  path: string;
  flags: string;
}

async function traceOpens(dir: string): Promise<Open[]> {
  const opens: Open[] = [];
  for (const f of await readdir(dir)) {
    if (!f.startsWith("trace.")) continue;
    for (const line of (await readFile(join(dir, f), "utf8")).split("\n")) {
      const m = /^(?:openat2?\((?:AT_FDCWD|\d+), |open\(|creat\()"((?:[^"\\]|\\.)*)",\s*([A-Z_|]+|\{[^}]*\})/.exec(line);
      if (m?.[1] !== undefined && m[2] !== undefined) opens.push({ path: m[1], flags: m[2] });
    }
  }
  return opens;
}

afterAll(destroyAllNamespaces);

describe(`the agent's sysctl writer fed ${RUNS} generated names and values in a network namespace (seed ${SEED})`, () => {
  it(
    "writes nothing outside that namespace's /proc/sys/net, creates nothing, follows no link",
    async () => {
      const dir = await mkdtemp(join(tmpdir(), "tt-wfuzz-"));
      try {
        const pairs = fc.sample(fc.record({ name: nameArb, value: valueArb }), { seed: SEED, numRuns: RUNS });
        await writeFile(join(dir, "pairs.json"), JSON.stringify(pairs));
        const ns = await createNamespace();
        await run(
          "ip",
          [
            "netns",
            "exec",
            ns,
            "strace",
            "-ff",
            "-qq",
            "-e",
            "trace=openat,open,openat2,creat",
            "-o",
            join(dir, "trace"),
            process.execPath,
            "--import",
            "tsx",
            join(REPO, "test/agent/support/writer-fuzz-driver.ts"),
            join(dir, "pairs.json"),
            join(dir, "results.json"),
          ],
          // TMPDIR: tsx caches compiled files in the temp directory; here that is the test's own directory.
          { cwd: REPO, timeout: 400_000 * SOAK_FACTOR, maxBuffer: 16 * 1024 * 1024, env: { ...process.env, TMPDIR: dir } },
        );
        const results = JSON.parse(await readFile(join(dir, "results.json"), "utf8")) as { name: string; result: string }[];
        expect(results).toHaveLength(RUNS);
        const tally = { written: 0, refused: 0, failed: 0 };
        for (const r of results) tally[r.result as keyof typeof tally]++;
        // Only catalog keys, spelled exactly, were ever written.
        expect([...new Set(results.filter((r) => r.result === "written").map((r) => r.name))].filter((n) => !perNetns.includes(n))).toEqual([]);

        const opens = await traceOpens(dir);
        const writes = opens.filter((o) => /O_WRONLY|O_RDWR|O_CREAT|O_TRUNC/.test(o.flags));
        const outside = writes.filter((o) => !o.path.startsWith("/proc/sys/net/") && !o.path.startsWith(`${dir}/`));
        expect(outside).toEqual([]);
        const sysctlWrites = writes.filter((o) => o.path.startsWith("/proc/sys/"));
        expect(sysctlWrites.filter((o) => !o.flags.includes("O_NOFOLLOW") || o.flags.includes("O_CREAT"))).toEqual([]);
        expect(opens.filter((o) => /core_pattern|modprobe|swappiness|suid_dumpable/.test(o.path))).toEqual([]);
        process.stderr.write(`writer fuzz (seed ${SEED}): ${JSON.stringify({ ...tally, opensForWrite: sysctlWrites.length })}\n`);
        expect(tally.written).toBeGreaterThan(RUNS / 20);
        expect(tally.refused).toBeGreaterThan(RUNS / 5);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
    600_000 * SOAK_FACTOR,
  );

  it("left the host's own sysctls untouched", () => {
    expectHostSysctlsUntouched();
  });
});
