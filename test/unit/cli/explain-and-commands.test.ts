import { spawn } from "node:child_process";
import path from "node:path";
import { describe, expect, it, vi } from "vitest";
import { COMPONENT_COMMANDS } from "../../../src/cli/main.js";
import { checkJsonSchema } from "../../../src/cli/output/json.js";
import { CATALOG } from "../../../src/rules/index.js";
import { policyYaml, REPO, run } from "./run.js";

describe("explain", () => {
  it("prints what the catalog knows of a known key: grammar, default, kernels, namespaces, hazards, references", async () => {
    const r = await run(["explain", "net.ipv4.tcp_tw_reuse"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^net\.ipv4\.tcp_tw_reuse\n/);
    expect(r.stdout).toMatch(/value: +one of 0, 1, 2/);
    expect(r.stdout).toMatch(/2 = on for loopback traffic only \(from 4\.18, commit 79e9fed46038/);
    expect(r.stdout).toMatch(/default: +0 up to 4\.17; 2 from 4\.18/);
    expect(r.stdout).toMatch(/namespaces: +per network namespace.*\(per namespace from 4\.10\)/);
    expect(r.stdout).toContain("hazards:\n    - Only connect()");
    expect(r.stdout).toContain("references:\n    - Documentation/networking/ip-sysctl.rst <https://docs.kernel.org/networking/ip-sysctl.html>");
  });

  it("says when a key appeared and was removed", async () => {
    const r = await run(["explain", "net.ipv4.tcp_tw_recycle"]);
    expect(r.stdout).toMatch(/kernels: +all supported kernels; removed in 4\.12 \(commit 4396e46187ca/);
    expect((await run(["explain", "net.ipv4.tcp_tw_reuse_delay"])).stdout).toMatch(/kernels: +from 6\.14/);
  });

  it("accepts the /proc/sys path form of a name", async () => {
    const r = await run(["explain", "/proc/sys/net/core/somaxconn"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^net\.core\.somaxconn\n/);
  });

  it("suggests the closest key for a misspelled one and exits 2", async () => {
    const r = await run(["explain", "net.ipv4.tcp_tw_resue"]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain("net.ipv4.tcp_tw_resue is not in the catalog. Did you mean net.ipv4.tcp_tw_reuse?");
  });

  it("lists every catalog key without an argument, and prints the entry as JSON with -o json", async () => {
    const list = await run(["explain"]);
    expect(
      list.stdout
        .trimEnd()
        .split("\n")
        .map((l) => l.split(/\s+/)[0]),
    ).toEqual(CATALOG.map((s) => s.name));
    const json = await run(["explain", "-o", "json", "net.core.somaxconn"]);
    expect(JSON.parse(json.stdout)).toMatchObject({ name: "net.core.somaxconn", grammar: { kind: "int" } });
  });
});

describe("agent and webhook dispatch", () => {
  it.each(Object.keys(COMPONENT_COMMANDS))(
    "tcp-tuning %s loads its src/cmd module, which exports main(argv)",
    async (command) => {
      const mod = await COMPONENT_COMMANDS[command as keyof typeof COMPONENT_COMMANDS]();
      expect(typeof mod.main).toBe("function");
    },
    60_000,
  ); // the first import of the Kubernetes client takes seconds on a loaded machine

  it.each([
    ["agent", "tcp-tuning agent: "],
    ["webhook", "tcp-tuning webhook: "],
  ])(
    "tcp-tuning %s hands its arguments to the component, which refuses an unknown flag with exit code 2",
    async (command, prefix) => {
      let stderr = "";
      const spy = vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => {
        stderr += String(chunk);
        return true;
      });
      try {
        expect((await run([command, "--no-such-flag"])).code).toBe(2);
      } finally {
        spy.mockRestore();
      }
      expect(stderr).toContain(prefix);
      expect(stderr).toMatch(/no-such-flag/);
    },
    60_000,
  );
});

describe("bin/tcp-tuning.js as a real process", () => {
  it("reads policies from standard input and exits 1 on a denial", async () => {
    const stdin = `${policyYaml("recycle", { "net.ipv4.tcp_tw_recycle": "1" })}---\n${policyYaml("fine", { "net.core.somaxconn": "4096" })}`;
    const child = spawn(process.execPath, [path.join(REPO, "bin/tcp-tuning.js"), "check", "-o", "json", "-"], {
      cwd: REPO,
      env: { ...process.env, NO_COLOR: "1" },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.stdin.end(stdin);
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
    expect(stderr).toBe("");
    expect(code).toBe(1);
    const doc = checkJsonSchema.parse(JSON.parse(stdout));
    expect(doc.policies.map((p) => [p.name, p.verdict, p.source.file])).toEqual([
      ["recycle", "denied", "<stdin>"],
      ["fine", "allowed", "<stdin>"],
    ]);
  }, 30_000);
});
