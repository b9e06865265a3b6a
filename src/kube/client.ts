import { KubeConfig } from "@kubernetes/client-node";

/** The field manager name for server-side apply and managedFields: one per component. */
export const FIELD_MANAGERS = {
  controller: "tcp-tuning-controller",
  agent: "tcp-tuning-agent",
  webhook: "tcp-tuning-webhook",
} as const;

/**
 * Loads a kubeconfig: an explicit path, else $KUBECONFIG / ~/.kube/config, else the in-cluster
 * service account (what client-node's loadFromDefault does in that order).
 */
export function loadKubeConfig(path?: string): KubeConfig {
  const kc = new KubeConfig();
  if (path) kc.loadFromFile(path);
  else kc.loadFromDefault();
  return kc;
}
