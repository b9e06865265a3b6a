import { describe, expect, it } from "vitest";
import {
  boundaryValues,
  CATALOG,
  kernelAnswer,
  kernelBoundsFor,
  KNOWN_HZ,
  lookupSysctl,
  parseKernelVersion,
  parseValue,
  type KernelBounds,
  type SysctlSpec,
} from "../../../src/rules/index.js";

/** The catalog's claims about what the kernel itself accepts (SysctlSpec.kernel), held against its grammar. */

const spec = (name: string): SysctlSpec => {
  const s = lookupSysctl(name);
  if (!s) throw new Error(`${name} is not in the catalog`);
  return s;
};
const v = (text: string) => {
  const k = parseKernelVersion(text);
  if (!k) throw new Error(text);
  return k;
};
const spans = CATALOG.flatMap((s) => s.kernel.map((b) => [s.name, s, b] as const));

describe("the catalog's kernel bounds", () => {
  it.each(CATALOG.map((s) => [s.name, s] as const))("%s states the kernel's bounds, with a source for each span", (_name, s) => {
    expect(s.kernel.length).toBeGreaterThan(0);
    for (const b of s.kernel) expect(b.source.trim()).not.toBe("");
  });

  it.each(spans)("%s: every value the grammar takes is one the kernel takes, at every HZ (%#)", (_name, s, bounds) => {
    // Older kernels with a tighter limit (somaxconn before 4.1) are judged by that limit (TT016), not the grammar.
    const limit = s.limits?.find((l) => bounds.before !== undefined && l.before === bounds.before)?.max ?? Number.POSITIVE_INFINITY;
    for (const hz of KNOWN_HZ) {
      for (const value of boundaryValues(s)) {
        if (value.split(" ").some((f) => Number(f) > limit)) continue;
        if (parseValue(s.grammar, value).ok) expect(kernelAnswer(s, bounds, value, hz), `${value} at HZ=${hz} (${bounds.source})`).toEqual({ accepted: true });
      }
    }
  });

  it.each(CATALOG.map((s) => [s.name, s] as const))("%s says why it refuses values the kernel takes, and only then", (_name, s) => {
    const looser = s.kernel.some((b: KernelBounds) =>
      KNOWN_HZ.some((hz) => boundaryValues(s).some((value) => !parseValue(s.grammar, value).ok && kernelAnswer(s, b, value, hz).accepted)),
    );
    if (looser) expect(s.stricterThanKernel?.trim(), "stricterThanKernel").toBeTruthy();
    else expect(s.stricterThanKernel).toBeUndefined();
  });

  it("picks the span of the running kernel's version", () => {
    expect(kernelBoundsFor(spec("net.ipv4.tcp_rmem"), v("6.18.44-fc-v1300"))?.min).toBe(4096);
    expect(kernelBoundsFor(spec("net.ipv4.tcp_rmem"), v("5.15.0-1057-aws"))?.min).toBe(1);
    expect(kernelBoundsFor(spec("net.ipv4.tcp_rmem"), v("4.9.0-19-amd64"))).toBeUndefined();
    expect(kernelBoundsFor(spec("net.ipv4.tcp_keepalive_probes"), v("5.15.0"))?.type).toBe("u8");
    expect(kernelBoundsFor(spec("net.ipv4.tcp_keepalive_probes"), v("4.18.0-553.el8_10.x86_64"))?.type).toBe("int");
    expect(kernelBoundsFor(spec("net.ipv4.tcp_tw_recycle"), v("6.1.100+"))).toBeUndefined();
  });

  it("says seconds-to-jiffies keys stop at INT_MAX / HZ", () => {
    const s = spec("net.ipv4.tcp_keepalive_time");
    const b = kernelBoundsFor(s, v("6.18.0"));
    if (!b) throw new Error("no bounds");
    expect(kernelAnswer(s, b, "2147484", 1000)).toEqual({ accepted: false, storedFields: 0 });
    expect(kernelAnswer(s, b, "2147484", 250)).toEqual({ accepted: true });
    expect(kernelAnswer(s, b, "8589935", 250)).toEqual({ accepted: false, storedFields: 0 });
    expect(kernelAnswer(s, b, "0", 250)).toEqual({ accepted: true });
  });

  it("says a refused tcp_rmem write keeps the fields before the bad one, and a refused port range keeps nothing", () => {
    const rmem = spec("net.ipv4.tcp_rmem");
    const rb = kernelBoundsFor(rmem, v("6.18.44"));
    if (!rb) throw new Error("no bounds");
    expect(kernelAnswer(rmem, rb, "8192 16384 4095", 250)).toEqual({ accepted: false, storedFields: 2 });
    expect(kernelAnswer(rmem, rb, "8192 4096 4096", 250)).toEqual({ accepted: true });
    const range = spec("net.ipv4.ip_local_port_range");
    const pb = kernelBoundsFor(range, v("6.18.44"));
    if (!pb) throw new Error("no bounds");
    expect(kernelAnswer(range, pb, "1024 65536", 250)).toEqual({ accepted: false, storedFields: 0 });
    expect(kernelAnswer(range, pb, "40000 30000", 250)).toEqual({ accepted: false, storedFields: 0 });
  });
});
