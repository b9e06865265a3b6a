import type { TestProject } from "vitest/node";
import { ControlPlane } from "./control-plane.js";

/**
 * vitest globalSetup of the integration project: one real control plane (etcd, kube-apiserver,
 * kube-controller-manager, kube-scheduler) for the whole run; tests isolate themselves by name.
 * TCP_TUNING_CONTROLLERS=0 leaves out the controller-manager and scheduler.
 * The kubeconfig path reaches tests as inject("kubeconfig") and $TCP_TUNING_KUBECONFIG.
 */
declare module "vitest" {
  export interface ProvidedContext {
    kubeconfig: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const controllers = process.env["TCP_TUNING_CONTROLLERS"] !== "0";
  const plane = await ControlPlane.start({ controllers });
  process.env["TCP_TUNING_KUBECONFIG"] = plane.kubeconfigPath;
  project.provide("kubeconfig", plane.kubeconfigPath);
  const t = plane.timings;
  process.stderr.write(
    `control plane ${plane.server} ready in ${t.total} ms (pki ${t.pki}, etcd ${t.etcd}, apiserver ${t.apiserver}` +
      `${t.controllers !== undefined ? `, controllers ${t.controllers}` : ""}); kubeconfig ${plane.kubeconfigPath}\n`,
  );
  return async () => {
    const start = performance.now();
    await plane.stop();
    process.stderr.write(`control plane stopped in ${Math.round(performance.now() - start)} ms\n`);
  };
}
