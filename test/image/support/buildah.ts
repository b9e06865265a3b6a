import { execFile } from "node:child_process";
import { inject } from "vitest";

/** The image the project's global setup built (or $TCP_TUNING_IMAGE). */
export function testImage(): string {
  return inject("image");
}

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function exec(command: string, args: readonly string[], timeoutMs: number): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (err as { code?: unknown }).code : 0;
      if (typeof code !== "number") reject(new Error(`${command} ${args.join(" ")} did not run: ${err?.message ?? ""} ${stderr}`, { cause: err }));
      else resolve({ code, stdout, stderr });
    });
  });
}

/** `buildah ARGS`, resolving with the exit code; rejects only when buildah cannot be run. */
export function buildah(args: readonly string[], timeoutMs = 120_000): Promise<RunResult> {
  return exec("buildah", args, timeoutMs);
}

export async function buildahOk(args: readonly string[], timeoutMs = 120_000): Promise<string> {
  const r = await buildah(args, timeoutMs);
  if (r.code !== 0) throw new Error(`buildah ${args.join(" ")} failed (exit ${r.code}): ${r.stderr.trim()}`);
  return r.stdout;
}

/** The image's configuration (entrypoint, user, labels) and size, from `buildah inspect`. */
export interface ImageConfig {
  readonly entrypoint: string[];
  readonly cmd: string[];
  readonly user: string;
  readonly labels: Record<string, string>;
  readonly env: string[];
}

export async function imageConfig(image: string): Promise<ImageConfig> {
  const info = JSON.parse(await buildahOk(["inspect", "--type", "image", image])) as {
    OCIv1: { config: { Entrypoint?: string[]; Cmd?: string[]; User?: string; Labels?: Record<string, string>; Env?: string[] } };
  };
  const c = info.OCIv1.config;
  return { entrypoint: c.Entrypoint ?? [], cmd: c.Cmd ?? [], user: c.User ?? "", labels: c.Labels ?? {}, env: c.Env ?? [] };
}

export interface RunOptions {
  /** Run in this network namespace (`ip netns exec NS buildah run --network host ...`). */
  readonly netns?: string;
  readonly user?: string;
  /** host:container[:options] bind mounts. */
  readonly volumes?: readonly string[];
  readonly timeoutMs?: number;
}

/** Runs a command in a working container of the image (`buildah run`, chroot isolation, no daemon). */
export async function runIn(container: string, argv: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const args = [
    "run",
    "--isolation",
    "chroot",
    ...(options.netns ? ["--network", "host"] : []),
    ...(options.user ? ["--user", options.user] : []),
    ...(options.volumes ?? []).flatMap((v) => ["--volume", v]),
    container,
    "--",
    ...argv,
  ];
  if (options.netns) return exec("ip", ["netns", "exec", options.netns, "buildah", ...args], options.timeoutMs ?? 120_000);
  return buildah(args, options.timeoutMs ?? 120_000);
}

/** A working container of the image; remove it with `buildah rm`. */
export async function workingContainer(image: string): Promise<string> {
  return (await buildahOk(["from", "--pull-never", image])).trim().split("\n").pop()!;
}
