import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { reconcile, type ReconcileContext } from "../../../src/agent/reconcile.js";
import { SysctlIoError, type SysctlFs } from "../../../src/agent/sysctl-fs.js";
import { createLogger } from "../../../src/log.js";

/**
 * A refused write of a vector sysctl can still change it: proc_dointvec_minmax stores tcp_rmem's
 * fields one by one, so "8192 16384 <bad>" leaves "8192 16384 <old max>" behind (measured on 6.18;
 * test/agent/sysctl-fs-netns.test.ts shows it on the real kernel). The agent must read the key back
 * after any failed write and treat what it reads as the truth. A fake namespace with that behaviour:
 */
function kernelLike(
  initial: Record<string, string>,
  refuse: (name: string, fields: string[]) => number | undefined,
): SysctlFs & { values: Record<string, string> } {
  const values = { ...initial };
  return {
    root: "/fake",
    values,
    exists: async (n) => n in values,
    read: async (n) => values[n] ?? "",
    async write(n, value) {
      const fields = value.trim().split(/\s+/);
      const bad = refuse(n, fields);
      if (bad !== undefined) {
        const old = (values[n] ?? "").split(" ");
        values[n] = [...fields.slice(0, bad), ...old.slice(bad)].join(" ");
        throw new SysctlIoError(n, `/proc/sys/${n}`, "write", "Invalid argument", {
          cause: Object.assign(new Error("EINVAL"), { code: "EINVAL" }),
          readBack: values[n],
        });
      }
      values[n] = fields.join(" ");
      return values[n];
    },
  };
}

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function context(fs: SysctlFs): Promise<ReconcileContext> {
  const dir = await mkdtemp(join(tmpdir(), "tt-partial-"));
  dirs.push(dir);
  return { fs, stateFile: join(dir, "state.json"), log: createLogger("test", { level: "silent" }) };
}

const RMEM = "net.ipv4.tcp_rmem";
const FIN = "net.ipv4.tcp_fin_timeout";

describe("a multi-field write the kernel refuses part-way", () => {
  it("is read back, put back to the value of before the pass, and reported with what the key holds", async () => {
    // This kernel refuses a field above 16777216 (a stand-in for any per-field bound).
    const refuse = (n: string, f: string[]): number | undefined => {
      const i = n === RMEM ? f.findIndex((x) => Number(x) > 16777216) : -1;
      return i >= 0 ? i : undefined;
    };
    const ns = kernelLike({ [FIN]: "60", [RMEM]: "4096 131072 6291456" }, refuse);
    const result = await reconcile(
      [
        { policy: "p", name: FIN, value: "30" },
        { policy: "p", name: RMEM, value: "8192 262144 33554432" },
      ],
      await context(ns),
    );
    expect(ns.values).toEqual({ [FIN]: "60", [RMEM]: "4096 131072 6291456" });
    const rmem = result.keys.find((k) => k.name === RMEM);
    expect(rmem).toMatchObject({ result: "Failed", actual: "4096 131072 6291456" });
    expect(rmem?.message).toMatch(/changed it to 8192 262144 6291456, so it was put back to 4096 131072 6291456/);
    expect(result.keys.find((k) => k.name === FIN)).toMatchObject({ result: "RolledBack", actual: "60" });
    expect(result.applied).toBe(false);
  });

  it("reports the partly written value when it cannot be put back either", async () => {
    let writes = 0;
    const ns = kernelLike({ [RMEM]: "4096 131072 6291456" }, (_n, f) => {
      writes++;
      if (writes === 1) return 2; // the apply: third field refused
      return f[0] === "4096" ? 0 : undefined; // the rollback: refused outright
    });
    const result = await reconcile([{ policy: "p", name: RMEM, value: "8192 262144 33554432" }], await context(ns));
    expect(ns.values[RMEM]).toBe("8192 262144 6291456");
    const rmem = result.keys.find((k) => k.name === RMEM);
    expect(rmem).toMatchObject({ result: "Failed", actual: "8192 262144 6291456" });
    expect(rmem?.message).toMatch(/the refused write changed it to 8192 262144 6291456, and it could not be put back to 4096 131072 6291456/);
    // The original stays recorded, so a later pass can still restore it.
    expect(result.originals).toEqual([expect.objectContaining({ name: RMEM, value: "4096 131072 6291456" })]);
  });

  it("changes nothing more when the refused write left the key as it was", async () => {
    const ns = kernelLike({ [FIN]: "60", [RMEM]: "4096 131072 6291456" }, (n) => (n === RMEM ? 0 : undefined));
    const result = await reconcile(
      [
        { policy: "p", name: FIN, value: "30" },
        { policy: "p", name: RMEM, value: "8192 262144 33554432" },
      ],
      await context(ns),
    );
    expect(result.keys.find((k) => k.name === RMEM)).toMatchObject({ result: "Failed", actual: "4096 131072 6291456" });
    expect(result.keys.find((k) => k.name === FIN)).toMatchObject({ result: "RolledBack" });
    expect(ns.values).toEqual({ [FIN]: "60", [RMEM]: "4096 131072 6291456" });
  });
});
