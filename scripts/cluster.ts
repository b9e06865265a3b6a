/**
 * `npm run cluster`: a real local control plane for a person (etcd, kube-apiserver,
 * kube-controller-manager, kube-scheduler) with this project's CRDs installed. Prints the
 * KUBECONFIG to use and stays up until Ctrl-C, then stops everything and removes its files.
 * `npm run cluster -- --no-controllers` starts only etcd and kube-apiserver.
 * Build the binaries first with `bash scripts/k8s-bins.sh` (or set KUBEBUILDER_ASSETS).
 */
import { ControlPlane } from "../test/support/control-plane.js";
import { installCrds } from "../test/support/crds.js";
import { KubeConfig } from "@kubernetes/client-node";

const out = (line: string): void => void process.stdout.write(`${line}\n`);
const controllers = !process.argv.includes("--no-controllers");

const plane = await ControlPlane.start({ controllers, onProgress: (m) => out(`# ${m}`) });
let stopping = false;
const stop = async (signal: string): Promise<void> => {
  if (stopping) return;
  stopping = true;
  out(`# ${signal}: stopping the control plane`);
  await plane.stop();
  out("# stopped and cleaned up");
  process.exit(0);
};
process.on("SIGINT", () => void stop("SIGINT"));
process.on("SIGTERM", () => void stop("SIGTERM"));

try {
  const kc = new KubeConfig();
  kc.loadFromFile(plane.kubeconfigPath);
  const crds = await installCrds(kc);
  out(`# installed ${crds.map((c) => c.metadata?.name).join(", ")}`);
} catch (err) {
  process.stderr.write(`installing the CRDs failed: ${(err as Error).message}\n`);
  await plane.stop();
  process.exit(1);
}

const t = plane.timings;
out(`# ready in ${(t.total / 1000).toFixed(1)} s; logs in ${plane.dir}`);
out(`export KUBECONFIG=${plane.kubeconfigPath}`);
out(`# kubectl: ${process.env["KUBEBUILDER_ASSETS"] ?? ".bin/k8s"}/kubectl get ttp`);
out("# Ctrl-C stops it.");
