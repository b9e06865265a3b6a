import { mkdtemp, mkdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { runCli } from "../../../src/cli/main.js";

export const REPO = path.resolve(import.meta.dirname, "../../..");
export const FLEET = path.resolve(REPO, "test/fixtures/fleet");

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  readonly stdin?: string;
  readonly isTTY?: boolean;
  readonly env?: Record<string, string | undefined>;
  readonly cwd?: string;
}

/** Runs the whole CLI in-process with captured output. */
export async function run(argv: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  let stdout = "";
  let stderr = "";
  const code = await runCli(argv, {
    stdout: { write: (t) => void (stdout += t), isTTY: options.isTTY ?? false },
    stderr: { write: (t) => void (stderr += t), isTTY: false },
    readStdin: async () => options.stdin ?? "",
    env: options.env ?? {},
    cwd: options.cwd ?? REPO,
  });
  return { code, stdout, stderr };
}

/** Writes files (path -> content) under a fresh temporary directory and returns it. */
export async function tempTree(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), "tcp-tuning-cli-"));
  for (const [rel, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, rel)), { recursive: true });
    await writeFile(path.join(dir, rel), content);
  }
  return dir;
}

export function policyYaml(name: string, sysctls: Record<string, string>, selector = "{}"): string {
  const entries = Object.entries(sysctls)
    .map(([n, v]) => `    - name: ${n}\n      value: "${v}"\n`)
    .join("");
  return `apiVersion: tcptuning.io/v1alpha1\nkind: TcpTuningPolicy\nmetadata:\n  name: ${name}\nspec:\n  nodeSelector: ${selector}\n  sysctls:\n${entries}`;
}

export function nodeYaml(name: string, kernel: string, labels: Record<string, string> = {}, os = "linux"): string {
  const l = Object.entries({ "kubernetes.io/os": os, ...labels })
    .map(([k, v]) => `    ${k}: "${v}"\n`)
    .join("");
  return `apiVersion: v1\nkind: Node\nmetadata:\n  name: ${name}\n  labels:\n${l}status:\n  nodeInfo:\n    kernelVersion: ${kernel}\n    operatingSystem: ${os}\n`;
}
