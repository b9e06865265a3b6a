import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { CoreV1Api, RbacAuthorizationV1Api, type KubeConfig } from "@kubernetes/client-node";
import { stringify } from "yaml";
import { API_GROUP, NODE_STATE_PLURAL } from "../../../src/api/v1alpha1/group.js";

/**
 * The least a node's agent needs, as RBAC: get/list/watch of ITS OWN node state (resourceNames,
 * which the API server applies to list/watch with fieldSelector metadata.name=NAME), patch of that
 * object's status, and create/patch of events.k8s.io Events (patch: a repeat's series). Returns a kubeconfig with a ServiceAccount token bound to
 * exactly that, so a test proves the agent reads nothing else.
 */
export async function agentKubeconfig(admin: KubeConfig, nodeName: string, dir: string): Promise<string> {
  const core = admin.makeApiClient(CoreV1Api);
  const rbac = admin.makeApiClient(RbacAuthorizationV1Api);
  const namespace = "default";
  const name = `tt-agent-${nodeName}`;
  await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name } } });
  await rbac.createClusterRole({
    body: {
      metadata: { name },
      rules: [
        { apiGroups: [API_GROUP], resources: [NODE_STATE_PLURAL], resourceNames: [nodeName], verbs: ["get", "list", "watch"] },
        { apiGroups: [API_GROUP], resources: [`${NODE_STATE_PLURAL}/status`], resourceNames: [nodeName], verbs: ["patch"] },
        { apiGroups: ["events.k8s.io"], resources: ["events"], verbs: ["create", "patch"] },
      ],
    },
  });
  await rbac.createClusterRoleBinding({
    body: {
      metadata: { name },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name },
      subjects: [{ kind: "ServiceAccount", name, namespace }],
    },
  });
  const token = await core.createNamespacedServiceAccountToken({ name, namespace, body: { spec: { audiences: [], expirationSeconds: 3600 } } });
  const cluster = admin.getCurrentCluster();
  if (!cluster) throw new Error("the admin kubeconfig has no current cluster");
  const caData = cluster.caData;
  if (!caData) throw new Error("the admin kubeconfig has no certificate-authority-data");
  const path = join(dir, `${name}.kubeconfig`);
  await writeFile(
    path,
    stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name: "local", cluster: { server: cluster.server, "certificate-authority-data": caData } }],
      users: [{ name, user: { token: token.status?.token } }],
      contexts: [{ name: "local", context: { cluster: "local", user: name } }],
      "current-context": "local",
    }),
    { mode: 0o600 },
  );
  return path;
}
