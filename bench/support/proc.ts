import { execFile, spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/** CPU time a process has used (user + system), in ms, from /proc/PID/stat. */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
}

/** Resident memory of a process, in MiB, from /proc/PID/status. */
export function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** The machine's load average over the last minute, to print beside every figure. */
export function loadAverage(): number {
  return Number(readFileSync("/proc/loadavg", "utf8").split(" ")[0]);
}

/**
 * Compiles src and bench/support to plain JavaScript (bench/results/dist), so that targets run as
 * production does, without the TypeScript loader in their memory and CPU figures. Returns the path of
 * the compiled bench/support directory.
 */
export async function compileTargets(root: string): Promise<string> {
  // bench/index.ts compiles once for every benchmark it runs.
  if (process.env["TT_BENCH_COMPILED"] !== "1") await sh(`cd ${root} && npx tsc -p bench/tsconfig.json`);
  return `${root}/bench/results/dist/bench/support`;
}

/** Starts `node FILE ARGS` (compiled JavaScript) and resolves with the process and its first stdout line as JSON. */
export async function startTarget<T>(file: string, args: readonly string[]): Promise<{ child: ChildProcess; info: T }> {
  const child = spawn(process.execPath, [file, ...args], { stdio: ["ignore", "pipe", "inherit"] });
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const info = await new Promise<T>((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`${file} exited with ${code} before it was ready`)));
    lines.once("line", (line) => resolve(JSON.parse(line) as T));
  });
  return { child, info };
}

export async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
  await exited;
  clearTimeout(timer);
}

/** Runs a shell pipeline and resolves with its stdout. */
export function sh(command: string, timeoutMs = 600_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile("bash", ["-o", "pipefail", "-c", command], { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${command}: ${err.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

export const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
};

/** "1.2 (1.0-1.5)": the median and the range over runs. */
export const spread = (xs: readonly number[], digits = 2): string =>
  xs.length <= 1 ? (xs[0] ?? NaN).toFixed(digits) : `${median(xs).toFixed(digits)} (${Math.min(...xs).toFixed(digits)}-${Math.max(...xs).toFixed(digits)})`;

/** A plain text table: a header row and rows, columns padded. */
export function table(head: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join("  ");
  return [line(head), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

/** Peak resident memory of a process so far (VmHWM), in MiB, from /proc/PID/status. */
export function peakRssMiB(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : NaN;
}

export interface CliOptions {
  /** Added to this process's environment. */
  readonly env?: Readonly<Record<string, string>>;
  /** Where the command's stdout goes: a file descriptor (e.g. a log file), or nowhere. */
  readonly stdout?: number | "ignore";
  /** Where its stderr (the logs) goes: a file descriptor, or (by default) a pipe kept by `stderr()`. */
  readonly stderr?: number;
  /** Extra node flags, e.g. --cpu-prof. */
  readonly nodeArgs?: readonly string[];
}

/**
 * Starts the real `tcp-tuning ARGS` command from the compiled tree (bench/results/dist, see
 * compileTargets) as one node process, so its pid is the one to read /proc of. Keeps the end of its
 * stderr when that is a pipe.
 */
export function startCli(root: string, args: readonly string[], options: CliOptions = {}): { child: ChildProcess; stderr: () => string } {
  const cli = join(root, "bench/results/dist/src/cli/main.js");
  const child = spawn(
    process.execPath,
    [
      ...(options.nodeArgs ?? []),
      "--input-type=module",
      "-e",
      `const cli = await import(${JSON.stringify(cli)}); process.exitCode = await cli.runCli(process.argv.slice(1), cli.processIo());`,
      ...args,
    ],
    { stdio: ["ignore", options.stdout ?? "ignore", options.stderr ?? "pipe"], env: { ...process.env, ...options.env } },
  );
  let stderr = "";
  child.stderr?.on("data", (c: Buffer) => (stderr = (stderr + c.toString()).slice(-100_000)));
  return { child, stderr: () => stderr };
}
