/**
 * One real `tcp-tuning agent` process per node, each in its own network namespace (its "node"'s
 * /proc/sys/net), reaching the API server through a bridge, under the chart's agent ServiceAccount
 * with a token bound to the DaemonSet's pod on that node (so the own-node admission policy applies).
 */
import { join } from "node:path";
import { CoreV1Api, type KubeConfig, type V1Pod } from "@kubernetes/client-node";
import { bridgeApiserver, type ApiserverBridge } from "../../test/agent/support/apiserver-bridge.js";
import { createNamespace, destroyNamespace } from "../../test/agent/support/netns.js";
import { REPO_ROOT } from "../../test/support/control-plane.js";
import { eventually } from "../../test/support/eventually.js";
import { ProcessGroup } from "../../test/support/process-group.js";
import { serviceAccountKubeconfig } from "../../test/support/service-account.js";

export interface RunningAgent {
  readonly node: string;
  readonly netns: string;
  readonly process: ProcessGroup;
  stop(): Promise<void>;
}

/** The DaemonSet's pod on each node, once the DaemonSet controller and the scheduler placed them. */
export async function agentPods(kc: KubeConfig, namespace: string, nodes: readonly string[]): Promise<Map<string, V1Pod>> {
  const core = kc.makeApiClient(CoreV1Api);
  return eventually(
    "an agent pod on every Linux node",
    async () => {
      const pods = (await core.listNamespacedPod({ namespace, labelSelector: "app.kubernetes.io/component=agent" })).items;
      const byNode = new Map(pods.filter((p) => p.spec?.nodeName).map((p) => [p.spec!.nodeName!, p]));
      return nodes.every((n) => byNode.has(n)) ? byNode : undefined;
    },
    120_000,
    250,
  );
}

export async function startAgent(
  kc: KubeConfig,
  options: { node: string; pod: V1Pod; namespace: string; serviceAccount: string; dir: string; apiserverPort: number },
): Promise<RunningAgent> {
  const { node, pod, dir } = options;
  const netns = await createNamespace();
  let bridge: ApiserverBridge | undefined;
  try {
    bridge = await bridgeApiserver(netns, options.apiserverPort, dir);
    const kubeconfig = await serviceAccountKubeconfig(kc, options.namespace, options.serviceAccount, dir, {
      boundPod: { name: pod.metadata!.name!, uid: pod.metadata!.uid! },
    });
    const proc = new ProcessGroup({
      name: `agent ${node}`,
      command: "ip",
      args: [
        "netns",
        "exec",
        netns,
        process.execPath,
        join(REPO_ROOT, "bin", "tcp-tuning.js"),
        "agent",
        "--node-name",
        node,
        "--kubeconfig",
        kubeconfig,
        "--state-file",
        join(dir, `${node}.state.json`),
        "--drift-interval",
        "5s",
      ],
      env: { ...process.env, TCP_TUNING_USE_DIST: "1", LOG_FORMAT: "json" },
      logFile: join(dir, `agent-${node}.log`),
    });
    const b = bridge;
    return {
      node,
      netns,
      process: proc,
      async stop() {
        await proc.stop();
        await b.close();
        await destroyNamespace(netns);
      },
    };
  } catch (err) {
    await bridge?.close();
    await destroyNamespace(netns);
    throw err;
  }
}
