import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { KubeConfig } from "@kubernetes/client-node";
import { inject } from "vitest";
import { binDir } from "./control-plane.js";

/** The admin kubeconfig of the control plane the integration global setup started. */
export function kubeconfigPath(): string {
  const fromEnv = process.env["TCP_TUNING_KUBECONFIG"];
  if (fromEnv) return fromEnv;
  const provided = inject("kubeconfig");
  if (!provided) throw new Error("no control plane: run this test in the vitest integration project (test/support/global-setup.ts)");
  return provided;
}

/** A client-node KubeConfig for that control plane. */
export function kubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath());
  return kc;
}

export interface KubectlResult {
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs the kubectl built by scripts/k8s-bins.sh against that control plane. Rejects with the
 * command, exit code and stderr when kubectl fails.
 */
export function kubectl(args: readonly string[], options: { input?: string; timeoutMs?: number } = {}): Promise<KubectlResult> {
  const command = join(binDir(["kubectl"]), "kubectl");
  const fullArgs = ["--kubeconfig", kubeconfigPath(), ...args];
  return new Promise((resolve, reject) => {
    const child = execFile(command, fullArgs, { timeout: options.timeoutMs ?? 30_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) {
        const code = (err as { code?: number | string }).code;
        reject(new Error(`kubectl ${args.join(" ")} failed (exit ${code ?? "?"}): ${stderr.trim() || err.message}`, { cause: err }));
      } else {
        resolve({ stdout, stderr });
      }
    });
    child.stdin?.end(options.input ?? "");
  });
}

/** A DNS-1123 name unique to this run, so tests sharing one control plane do not collide. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString("hex")}`;
}
