import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { allowSysctl, createSysctlFs, SysctlIoError, SysctlRefusedError } from "../../../src/agent/sysctl-fs.js";

/** A plain-file sysctl tree: the same layout as /proc/sys, so path handling is tested without a kernel. */
async function fakeRoot(): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), "tt-sysroot-"));
  await mkdir(join(root, "net/ipv4"), { recursive: true });
  await mkdir(join(root, "net/core"), { recursive: true });
  await mkdir(join(root, "kernel"), { recursive: true });
  await writeFile(join(root, "net/ipv4/tcp_tw_reuse"), "2\n");
  await writeFile(join(root, "net/ipv4/ip_local_port_range"), "32768\t60999\n");
  await writeFile(join(root, "kernel/core_pattern"), "core\n");
  return root;
}

describe("which names the agent may touch", () => {
  it.each([
    ["kernel.core_pattern", /out of scope/],
    ["net/ipv4/../../kernel/core_pattern", /contains '\/'/],
    ["net.ipv4..tcp_tw_reuse", /contains '\.\.'/],
    ["net.ipv4.tcp_tw_reuse ", /whitespace/],
    ["net.ipv4.tcp_*", /glob/],
    ["net.ipv4.conf.all.forwarding", /allowlist/],
    ["vm.swappiness", /out of scope/],
    ["net.ipv6.conf.all.forwarding", /out of scope/],
    // Well-formed (the one grammar allows '-' after the first word) and in scope, but not a catalog key.
    ["net.ipv4.conf.eth-0.rp_filter", /allowlist/],
    ["net.ipv4.tcp-tw-reuse", /allowlist/],
    ["net-ipv4.tcp_tw_reuse", /not a sysctl name/],
    ["NET.IPV4.TCP_TW_REUSE", /not a sysctl name/],
    ["", /not a sysctl name/],
    // Odd spellings of an allowed key: none may reach a path.
    ["net.ipv4.tcp_tw_reuse.", /not a sysctl name/],
    [".net.ipv4.tcp_tw_reuse", /not a sysctl name/],
    ["net.ipv4.tcp_tw_reuse\0", /not a sysctl name/],
    ["net.ipv4.tcp_tw_reuse\u200b", /not a sysctl name/],
    ["net.ipv4.tcp_tw_r\u0435use", /not a sysctl name/],
    ["net.ipv4.tcp_tw_ｒeuse", /not a sysctl name/],
    ["Net.ipv4.tcp_tw_reuse", /not a sysctl name/],
    ["net.ipv4.tcp_tw_reuse\n", /whitespace/],
    ["net\\ipv4\\tcp_tw_reuse", /not a sysctl name/],
    ["net.ipv4.tcp_tw_reuse%2f..", /contains '\.\.'/],
    [`net.ipv4.${"a".repeat(300)}`, /allowlist/],
    ["net.ipv4", /out of scope/],
    ["net", /not a sysctl name/],
  ])("refuses %j", (name, reason) => {
    const r = allowSysctl(name);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(reason);
  });

  it.each([
    ["net.ipv4.tcp_tw_reuse", "net/ipv4/tcp_tw_reuse"],
    ["net.core.somaxconn", "net/core/somaxconn"],
    ["net.ipv4.ip_local_port_range", "net/ipv4/ip_local_port_range"],
  ])("maps the catalog key %s to %s", (name, path) => {
    const r = allowSysctl(name);
    expect(r.ok && r.relativePath).toBe(path);
  });
});

describe("sysctl files under a root", () => {
  let root: string;
  beforeEach(async () => {
    root = await fakeRoot();
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("reads values whitespace-normalised and writes, reads back and compares", async () => {
    const fs = createSysctlFs(root);
    expect(await fs.read("net.ipv4.ip_local_port_range")).toBe("32768 60999");
    expect(await fs.write("net.ipv4.ip_local_port_range", "40000   40007")).toBe("40000 40007");
    expect(await readFile(join(root, "net/ipv4/ip_local_port_range"), "utf8")).toBe("40000 40007\n");
  });

  it("refuses kernel.core_pattern and the traversal spelling before opening anything", async () => {
    const fs = createSysctlFs(root);
    await expect(fs.write("kernel.core_pattern", "|/tmp/evil")).rejects.toBeInstanceOf(SysctlRefusedError);
    await expect(fs.write("net/ipv4/../../kernel/core_pattern", "|/tmp/evil")).rejects.toBeInstanceOf(SysctlRefusedError);
    expect(await readFile(join(root, "kernel/core_pattern"), "utf8")).toBe("core\n");
  });

  it("never creates a key the kernel does not have (no O_CREAT)", async () => {
    const fs = createSysctlFs(root);
    expect(await fs.exists("net.core.somaxconn")).toBe(false);
    await expect(fs.write("net.core.somaxconn", "4096")).rejects.toBeInstanceOf(SysctlIoError);
    await expect(readFile(join(root, "net/core/somaxconn"))).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("refuses a key that is a symlink out of <root>/net (O_NOFOLLOW and the real-path check)", async () => {
    await rm(join(root, "net/ipv4/tcp_tw_reuse"));
    await symlink(join(root, "kernel/core_pattern"), join(root, "net/ipv4/tcp_tw_reuse"));
    const fs = createSysctlFs(root);
    await expect(fs.write("net.ipv4.tcp_tw_reuse", "1")).rejects.toBeInstanceOf(SysctlRefusedError);
    expect(await readFile(join(root, "kernel/core_pattern"), "utf8")).toBe("core\n");
  });

  it("refuses a directory symlinked out of <root>/net", async () => {
    await rm(join(root, "net/core"), { recursive: true });
    await writeFile(join(root, "kernel/somaxconn"), "4096\n");
    await symlink(join(root, "kernel"), join(root, "net/core"));
    const fs = createSysctlFs(root);
    await expect(fs.write("net.core.somaxconn", "8192")).rejects.toBeInstanceOf(SysctlRefusedError);
    expect(await readFile(join(root, "kernel/somaxconn"), "utf8")).toBe("4096\n");
  });
});
