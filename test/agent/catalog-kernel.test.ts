import { execFileSync } from "node:child_process";
import { afterAll, describe, expect, it } from "vitest";
import { boundaryValues, CATALOG, kernelAnswer, kernelBoundsFor, KNOWN_HZ, parseKernelVersion, parseValue, type SysctlSpec } from "../../src/rules/index.js";
import { createNamespace, destroyAllNamespaces, destroyNamespace, nsExec } from "./support/netns.js";

/**
 * The catalog against the running kernel. For every per-namespace key, in a fresh network namespace,
 * write the grammar's lowest and highest value and one step beyond each, and compare what the kernel
 * does (takes or refuses the write, what reads back afterwards) with what the catalog claims for this
 * kernel's version (SysctlSpec.kernel). A disagreement names the key, the value and both answers.
 * The host namespace is never written (the agent project's global setup checks it).
 */

const release = execFileSync("uname", ["-r"], { encoding: "utf8" }).trim();
const kernel = parseKernelVersion(release);

function path(name: string): string {
  return `/proc/sys/${name.split(".").join("/")}`;
}

async function has(ns: string, name: string): Promise<boolean> {
  return (await nsExec(ns, ["sh", "-c", 'test -e "$1" && echo yes || echo no', "sh", path(name)])).trim() === "yes";
}

async function read(ns: string, name: string): Promise<string> {
  return (await nsExec(ns, ["cat", path(name)])).trim().split(/\s+/).join(" ");
}

/** One write as `sysctl -w` does it: the value and a newline, in one write(2). */
async function write(ns: string, name: string, value: string): Promise<boolean> {
  const out = await nsExec(ns, ["sh", "-c", 'printf "%s\\n" "$1" > "$2" 2>/dev/null && echo taken || echo refused', "sh", value, path(name)]);
  return out.trim() === "taken";
}

/**
 * Keys whose writes depend on another key: set that one first so each key's own bounds are what is
 * tested (ip_local_port_range may not start below ip_unprivileged_port_start, and the start may not
 * rise above the range's low port).
 */
const SETUP: Readonly<Record<string, readonly (readonly [string, string])[]>> = {
  "net.ipv4.ip_local_port_range": [["net.ipv4.ip_unprivileged_port_start", "0"]],
  "net.ipv4.ip_unprivileged_port_start": [["net.ipv4.ip_local_port_range", "65535 65535"]],
};

/**
 * HZ, from how the kernel rounds milliseconds to jiffies: icmp_ratelimit is proc_dointvec_ms_jiffies,
 * so a write of 1 ms and of 7 ms reads back as whole ticks. Needed to predict INT_MAX / HZ ceilings.
 */
async function measureHz(ns: string): Promise<number> {
  const readBack = async (ms: number): Promise<number> => {
    await write(ns, "net.ipv4.icmp_ratelimit", String(ms));
    return Number(await read(ns, "net.ipv4.icmp_ratelimit"));
  };
  const got = [await readBack(1), await readBack(7)];
  const predict = (hz: number, ms: number): number => Math.ceil((Math.ceil((ms * hz) / 1000) * 1000) / hz);
  const hz = KNOWN_HZ.find((h) => predict(h, 1) === got[0] && predict(h, 7) === got[1]);
  if (hz === undefined) throw new Error(`cannot tell HZ: 1 ms and 7 ms read back as ${got.join(" and ")} ms`);
  return hz;
}

function normal(spec: SysctlSpec, text: string): string {
  return spec.grammar.kind === "portList" ? text.replace(/\s+/g, "") : text.trim().split(/\s+/).join(" ");
}

/** What reads back after a refused write that stored its first `stored` fields. */
function afterRefusal(before: string, value: string, stored: number): string {
  const old = before.split(" ");
  const fresh = value.trim().split(/\s+/);
  return [...fresh.slice(0, stored), ...old.slice(stored)].join(" ");
}

afterAll(async () => {
  await destroyAllNamespaces();
});

describe(`the catalog against this kernel (${release})`, () => {
  it("finds the kernel's version readable", () => {
    expect(kernel, release).toBeDefined();
  });

  it("agrees with the kernel on every per-namespace key at the grammar's bounds and one step beyond", async () => {
    if (!kernel) throw new Error(`unreadable kernel release ${release}`);
    const hzNs = await createNamespace();
    const hz = await measureHz(hzNs);
    await destroyNamespace(hzNs);

    const disagreements: string[] = [];
    const tried: string[] = [];
    let values = 0;
    for (const spec of CATALOG.filter((s) => s.netns !== "global")) {
      const ns = await createNamespace();
      try {
        const bounds = kernelBoundsFor(spec, kernel);
        if (!(await has(ns, spec.name))) {
          // Absent here: right when the catalog states no bounds for this kernel (removed, or newer).
          if (bounds) disagreements.push(`${spec.name}: absent on ${release}, but the catalog states its kernel bounds for this version (${bounds.source})`);
          continue;
        }
        if (!bounds) {
          disagreements.push(`${spec.name}: present on ${release}, but the catalog states no kernel bounds for this version`);
          continue;
        }
        for (const [key, value] of SETUP[spec.name] ?? []) {
          if (!(await write(ns, key, value))) throw new Error(`setup ${key}=${value} for ${spec.name} was refused`);
        }
        tried.push(spec.name);
        for (const value of boundaryValues(spec)) {
          values++;
          const claim = kernelAnswer(spec, bounds, value, hz);
          if (parseValue(spec.grammar, value).ok && !claim.accepted) {
            disagreements.push(`${spec.name}=${JSON.stringify(value)}: the grammar takes it, but the catalog says the kernel refuses it`);
          }
          const before = await read(ns, spec.name);
          const taken = await write(ns, spec.name, value);
          const after = await read(ns, spec.name);
          const expected = claim.accepted ? normal(spec, value) : afterRefusal(before, value, claim.storedFields);
          if (taken !== claim.accepted || normal(spec, after) !== normal(spec, expected)) {
            disagreements.push(
              `${spec.name}=${JSON.stringify(value)} at HZ=${hz}: kernel ${taken ? "took it" : "refused it"} and reads back ${JSON.stringify(after)}; ` +
                `catalog says it ${claim.accepted ? "takes it" : "refuses it"} and reads back ${JSON.stringify(expected)} (${bounds.source})`,
            );
          }
        }
      } finally {
        await destroyNamespace(ns);
      }
    }
    console.info(`kernel self-check on ${release} (HZ=${hz}): ${tried.length} keys, ${values} values written: ${tried.join(", ")}`);
    expect(disagreements).toEqual([]);
    expect(tried.length).toBeGreaterThan(15);
  }, 300_000);
});
