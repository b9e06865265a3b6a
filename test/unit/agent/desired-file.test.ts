import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { parseDesiredFile } from "../../../src/agent/desired-file.js";
import { createFileBackend } from "../../../src/agent/file-backend.js";
import { Agent } from "../../../src/agent/main.js";
import { createSysctlFs } from "../../../src/agent/sysctl-fs.js";
import type { NodeStateStatus } from "../../../src/api/v1alpha1/node-state.js";
import { createLogger } from "../../../src/log.js";
import { eventually } from "../../support/eventually.js";
import { cleanupAll, sysctlRoot } from "./support/sysctl-root.js";

const dirs: string[] = [];
afterEach(() => cleanupAll(dirs));

const entry = (value: string) => `spec:\n  sysctls:\n    - name: net.ipv4.tcp_tw_reuse\n      value: ${value}\n`;

describe("an invalid desired file names the line, the field and the limit", () => {
  it.each([
    ["a value over 256 characters", entry(`"${"1".repeat(300)}"`), /^line 4: spec\.sysctls\[0\]\.value: .*<=256.*limit: at most 256 characters, got 300/],
    [
      "a name over 128 characters",
      `spec:\n  sysctls:\n    - name: net.ipv4.${"a".repeat(130)}\n      value: "1"\n`,
      /^line 3: spec\.sysctls\[0\]\.name: .*limit: at most 128 characters, got 139/,
    ],
    [
      "a missing value",
      `spec:\n  sysctls:\n    - name: net.ipv4.tcp_tw_reuse\n`,
      /^line 3: spec\.sysctls\[0\]\.value: required field missing \(expected string\)/,
    ],
    ["a missing spec", `metadata:\n  generation: 2\n`, /^line 1: spec: required field missing/],
    ["an unquoted number", entry("1"), /^line 4: spec\.sysctls\[0\]\.value: expected a string, got the number 1: quote it \("1"\)/],
    ["a typo under spec", `spec:\n  sysctl:\n    - name: net.ipv4.tcp_tw_reuse\n      value: "1"\n`, /^line 2: spec: Unrecognized key: "sysctl"/],
    ["a generation that is not an integer", `metadata:\n  generation: 1.5\nspec:\n  sysctls: []\n`, /^line 2: metadata\.generation: /],
    ["YAML that does not parse", `spec:\n  sysctls: [\n`, /^line \d: not valid YAML/],
  ])("%s", (_what, text, message) => {
    const r = parseDesiredFile(text);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.problems[0]).toMatch(message);
  });

  it("takes a whole TcpTuningNodeState as the API server holds it", () => {
    const r = parseDesiredFile(
      `apiVersion: tcptuning.io/v1alpha1\nkind: TcpTuningNodeState\nmetadata:\n  name: worker-1\n  generation: 7\nspec:\n  nodeName: worker-1\n  sysctls:\n    - name: net.ipv4.tcp_tw_reuse\n      value: "1"\n      policy: p\n      policyGeneration: 2\nstatus:\n  observedGeneration: 6\n`,
    );
    expect(r).toEqual({ ok: true, generation: 7, nodeName: "worker-1", sysctls: [{ name: "net.ipv4.tcp_tw_reuse", value: "1" }] });
  });
});

/** The fenced yaml block that follows the marker in docs/agent.md, byte for byte. */
async function documentedExample(): Promise<string> {
  const doc = await readFile(join(import.meta.dirname, "../../../docs/agent.md"), "utf8");
  const m = /<!-- example-desired-file[^>]*-->\n```yaml\n([\s\S]*?)```/.exec(doc);
  if (!m?.[1]) throw new Error("docs/agent.md has no example desired file");
  return m[1];
}

describe("the desired file documented in docs/agent.md", () => {
  it("works verbatim with the file backend: applied, then a broken edit rejected in status, then deleted and restored", async () => {
    const root = await sysctlRoot(
      { "net.ipv4.tcp_tw_reuse": "2", "net.ipv4.ip_local_port_range": "32768\t60999", "net.ipv4.ip_unprivileged_port_start": "1024" },
      dirs,
    );
    const desiredFile = join(root, "desired.yaml");
    const statusFile = join(root, "status.json");
    await writeFile(desiredFile, await documentedExample());
    const log = createLogger("test", { level: "silent" });
    const backend = createFileBackend({ nodeName: "worker-1", desiredFile, statusFile, pollIntervalMs: 20, log });
    const agent = new Agent({
      nodeName: "worker-1",
      fs: createSysctlFs(root),
      stateFile: join(root, "state/agent-state.json"),
      procNet: join(root, "none"),
      driftIntervalMs: 3_600_000,
      backend,
      log,
    });
    const status = async () => (JSON.parse(await readFile(statusFile, "utf8")) as { status: NodeStateStatus }).status;
    const applied = async () => (await status()).conditions?.find((c) => c.type === "Applied");
    await agent.start();
    try {
      await eventually("the example applied", async () => ((await applied())?.reason === "AllKeysApplied" ? true : undefined), 20_000);
      expect(await readFile(join(root, "net/ipv4/tcp_tw_reuse"), "utf8")).toBe("1\n");
      expect(await readFile(join(root, "net/ipv4/ip_local_port_range"), "utf8")).toBe("10240 65000\n");

      await writeFile(desiredFile, (await documentedExample()).replace('value: "1"', "value: 1"));
      const rejected = await eventually(
        "the broken edit rejected",
        async () => ((await applied())?.reason === "DesiredStateRejected" ? applied() : undefined),
        20_000,
      );
      expect(rejected?.message).toMatch(/line \d+: spec\.sysctls\[0\]\.value: expected a string, got the number 1/);
      expect(await readFile(join(root, "net/ipv4/tcp_tw_reuse"), "utf8")).toBe("1\n");

      await rm(desiredFile);
      const deleted = await eventually(
        "the deletion reported",
        async () => ((await applied())?.reason === "DesiredStateDeleted" ? applied() : undefined),
        20_000,
      );
      expect(deleted?.message).toMatch(/restored: .*tcp_tw_reuse=2/);
      expect(await readFile(join(root, "net/ipv4/tcp_tw_reuse"), "utf8")).toBe("2\n");
      expect(await readFile(join(root, "net/ipv4/ip_local_port_range"), "utf8")).toBe("32768 60999\n");
    } finally {
      await agent.stop();
    }
  });
});
