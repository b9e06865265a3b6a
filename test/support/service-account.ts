import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { CoreV1Api, type KubeConfig } from "@kubernetes/client-node";
import { stringify } from "yaml";

export interface TokenOptions {
  /** Bind the token to this Pod (TokenRequest boundObjectRef): the apiserver then adds the Pod's node as the node-name claim. */
  readonly boundPod?: { readonly name: string; readonly uid: string };
  readonly expirationSeconds?: number;
}

/**
 * A kubeconfig that authenticates as a ServiceAccount with a token from the TokenRequest API, as a
 * pod of that ServiceAccount would: the identity a chart's RBAC grants to, used by tests that run
 * components as local processes.
 */
export async function serviceAccountKubeconfig(
  admin: KubeConfig,
  namespace: string,
  serviceAccount: string,
  dir: string,
  options: TokenOptions = {},
): Promise<string> {
  const core = admin.makeApiClient(CoreV1Api);
  const token = await core.createNamespacedServiceAccountToken({
    name: serviceAccount,
    namespace,
    body: {
      spec: {
        audiences: [],
        expirationSeconds: options.expirationSeconds ?? 3600,
        ...(options.boundPod ? { boundObjectRef: { apiVersion: "v1", kind: "Pod", name: options.boundPod.name, uid: options.boundPod.uid } } : {}),
      },
    },
  });
  const value = token.status?.token;
  if (!value) throw new Error(`TokenRequest for ${namespace}/${serviceAccount} returned no token`);
  const cluster = admin.getCurrentCluster();
  if (!cluster?.caData) throw new Error("the admin kubeconfig has no current cluster with certificate-authority-data");
  const path = join(dir, `${namespace}.${serviceAccount}${options.boundPod ? `.${options.boundPod.name}` : ""}.kubeconfig`);
  await writeFile(
    path,
    stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name: "local", cluster: { server: cluster.server, "certificate-authority-data": cluster.caData } }],
      users: [{ name: serviceAccount, user: { token: value } }],
      contexts: [{ name: "local", context: { cluster: "local", user: serviceAccount, namespace } }],
      "current-context": "local",
    }),
    { mode: 0o600 },
  );
  return path;
}
