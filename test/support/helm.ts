import { execFile } from "node:child_process";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { binDir, REPO_ROOT } from "./control-plane.js";

/** The chart in this repository. */
export const CHART_DIR = join(REPO_ROOT, "charts", "tcp-tuning-operator");

export interface HelmResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the helm built by scripts/k8s-bins.sh; resolves with the exit code (never rejects on a non-zero one). */
export function helm(args: readonly string[], options: { kubeconfig?: string; timeoutMs?: number } = {}): Promise<HelmResult> {
  const command = join(binDir(["helm"]), "helm");
  const env = {
    ...process.env,
    HELM_CACHE_HOME: join(REPO_ROOT, ".cache", "helm"),
    HELM_CONFIG_HOME: join(REPO_ROOT, ".cache", "helm"),
    HELM_DATA_HOME: join(REPO_ROOT, ".cache", "helm"),
  };
  const fullArgs = options.kubeconfig ? ["--kubeconfig", options.kubeconfig, ...args] : [...args];
  return new Promise((resolve, reject) => {
    execFile(command, fullArgs, { env, timeout: options.timeoutMs ?? 60_000, maxBuffer: 32 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (err as { code?: unknown }).code : 0;
      if (typeof code !== "number") reject(new Error(`helm ${args.join(" ")} did not run: ${err?.message ?? "unknown"}`, { cause: err }));
      else resolve({ code, stdout, stderr });
    });
  });
}

/** A rendered Kubernetes object (loosely typed: tests look into many kinds). */
export interface Rendered {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: {
    readonly name: string;
    readonly namespace?: string;
    readonly labels?: Record<string, string>;
    readonly annotations?: Record<string, string>;
  };
  readonly [key: string]: unknown;
}

export interface RenderOptions {
  readonly release?: string;
  readonly namespace?: string;
  readonly valuesFiles?: readonly string[];
  /** --set-json key=value pairs. */
  readonly setJson?: readonly string[];
}

/** `helm template` of the chart; throws with helm's message when rendering fails. */
export async function renderChart(options: RenderOptions = {}): Promise<Rendered[]> {
  const r = await helm(templateArgs(options));
  if (r.code !== 0) throw new Error(`helm template failed (exit ${r.code}): ${r.stderr.trim()}`);
  return parseRendered(r.stdout);
}

export function templateArgs(options: RenderOptions = {}): string[] {
  return [
    "template",
    options.release ?? "tcp-tuning",
    CHART_DIR,
    "--namespace",
    options.namespace ?? "tcp-tuning-system",
    ...(options.valuesFiles ?? []).flatMap((f) => ["--values", f]),
    ...(options.setJson ?? []).flatMap((s) => ["--set-json", s]),
  ];
}

export function parseRendered(text: string): Rendered[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS() as Rendered | null)
    .filter((o): o is Rendered => o !== null && typeof o === "object" && "kind" in o);
}

/** The one object of a kind (and name suffix); throws when there is not exactly one. */
export function only(objects: readonly Rendered[], kind: string, nameEndsWith = ""): Rendered {
  const found = objects.filter((o) => o.kind === kind && o.metadata.name.endsWith(nameEndsWith));
  if (found.length !== 1) throw new Error(`expected one ${kind} named *${nameEndsWith}, found ${found.map((o) => o.metadata.name).join(", ") || "none"}`);
  return found[0]!;
}
