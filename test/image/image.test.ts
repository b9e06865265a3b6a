import { existsSync, readdirSync } from "node:fs";
import { chmod, readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { agentFiles, readStatus, removeAgentFiles, writeDesired, type AgentFiles } from "../agent/support/agent-process.js";
import { createNamespace, destroyAllNamespaces, nsSysctl } from "../agent/support/netns.js";
import { REPO_ROOT } from "../support/control-plane.js";
import { eventually } from "../support/eventually.js";
import { ProcessGroup } from "../support/process-group.js";
import { buildah, buildahOk, imageConfig, runIn, testImage, workingContainer, type ImageConfig } from "./support/buildah.js";

// The image built from the repository's Dockerfile (by the project's global setup), run with
// buildah: no Docker engine, no registry.

let image: string;
let config: ImageConfig;
let container: string;
let rootfs: string;
const agents: ProcessGroup[] = [];
let files: AgentFiles | undefined;

beforeAll(async () => {
  image = testImage();
  config = await imageConfig(image);
  container = await workingContainer(image);
  rootfs = (await buildahOk(["mount", container])).trim();
});

afterAll(async () => {
  await Promise.all(agents.map((a) => a.stop()));
  if (container) await buildah(["rm", container]);
  if (files) await removeAgentFiles(files);
  await destroyAllNamespaces();
});

describe("the container image", () => {
  it("runs as the non-root user 65532 by default and carries OCI labels; prints its size", async () => {
    expect(config.user).toBe("65532:65532");
    expect(config.entrypoint).toEqual(["/nodejs/bin/node", "/app/bin/tcp-tuning.js"]);
    for (const key of ["title", "version", "revision", "source", "licenses", "created"])
      expect(config.labels[`org.opencontainers.image.${key}`], key).toBeTruthy();
    const uid = await runIn(container, [config.entrypoint[0]!, "-e", "process.stdout.write(`${process.getuid()}:${process.getgid()}`)"]);
    expect(uid.stdout).toBe("65532:65532");
    const size = (await buildahOk(["images", "--noheading", "--format", "{{.Size}}", image])).trim();
    process.stderr.write(`image ${image}: size ${size}, user ${config.user}\n`);
  });

  it("holds compiled JavaScript and production dependencies only: no src/, no TypeScript compiler, no tsx, no npm, no shell", () => {
    expect(existsSync(join(rootfs, "app", "dist", "cli", "main.js"))).toBe(true);
    expect(existsSync(join(rootfs, "app", "src"))).toBe(false);
    const modules = readdirSync(join(rootfs, "app", "node_modules"));
    for (const dev of ["typescript", "tsx", "vitest", "esbuild", "fast-check", "@types"]) expect(modules, dev).not.toContain(dev);
    expect(modules).toContain("@kubernetes");
    for (const tool of ["bin/sh", "usr/bin/sh", "usr/local/bin/npm", "usr/bin/apt"]) expect(existsSync(join(rootfs, tool)), tool).toBe(false);
  });

  it("prints its version through the entrypoint (the compiled CLI in dist/)", async () => {
    const { version } = (await import(join(REPO_ROOT, "package.json"), { with: { type: "json" } })).default as { version: string };
    const r = await runIn(container, [...config.entrypoint, "--version"]);
    expect(r.stderr).toBe("");
    expect(r.stdout.trim()).toContain(version);
    expect(r.code).toBe(0);
  });

  it("checks the repository's examples and exits 1 because some are denied", async () => {
    const r = await runIn(container, [...config.entrypoint, "check", "/examples/policies", "--nodes", "/examples/nodes.yaml"], {
      volumes: [`${join(REPO_ROOT, "examples")}:/examples:ro`],
    });
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout).toMatch(/denied|refused|error/i);
    expect(r.stdout).toContain("legacy-tw-recycle");
  });

  it("runs the agent as root in a network namespace: it applies the desired value there and reports it", async () => {
    const ns = await createNamespace();
    files = await agentFiles();
    await chmod(files.dir, 0o755);
    const key = "net.ipv4.tcp_fin_timeout";
    const before = await nsSysctl(ns, key);
    const wanted = before === "37" ? "38" : "37";
    await writeDesired(files, "image-node", 1, [{ name: key, value: wanted }]);
    const hostBefore = (await readFile("/proc/sys/net/ipv4/tcp_fin_timeout", "utf8")).trim();
    // buildah run, like any runtime for an unprivileged container, mounts /proc/sys read-only (the
    // chart's privileged pod gets it writable): the namespace's /proc/sys/net is bound writable at
    // /host/proc/sys/net instead, and the agent pointed there with --sysctl-root.
    const agent = new ProcessGroup({
      name: "agent-in-image",
      command: "ip",
      args: [
        "netns",
        "exec",
        ns,
        "buildah",
        "run",
        "--isolation",
        "chroot",
        "--network",
        "host",
        "--user",
        "0:0",
        "--volume",
        `${files.dir}:/agent`,
        "--volume",
        "/proc/sys/net:/host/proc/sys/net:rw",
        container,
        "--",
        ...config.entrypoint,
        "agent",
        "--node-name",
        "image-node",
        "--desired-file",
        "/agent/desired.yaml",
        "--status-file",
        "/agent/status.json",
        "--events-file",
        "/agent/events.jsonl",
        "--state-file",
        "/agent/state.json",
        "--sysctl-root",
        "/host/proc/sys",
        "--poll-interval",
        "200ms",
      ],
      env: { ...process.env, LOG_FORMAT: "json" },
      logFile: join(files.dir, "agent.log"),
    });
    agents.push(agent);
    const status = await eventually(
      "the agent in the image to report generation 1",
      async () => {
        const s = await readStatus(files!);
        return s?.observedGeneration === 1 ? s : undefined;
      },
      90_000,
      200,
    );
    expect(status.keys?.find((k) => k.name === key)).toMatchObject({ actual: wanted });
    expect(await nsSysctl(ns, key)).toBe(wanted);
    expect((await readFile("/proc/sys/net/ipv4/tcp_fin_timeout", "utf8")).trim(), "the host's own value").toBe(hostBefore);
  });
});
