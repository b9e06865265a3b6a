import { execFile } from "node:child_process";
import { release } from "node:os";
import { join } from "node:path";
import { CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mergePatch } from "../../src/kube/patch.js";
import { binDir, ControlPlane } from "../support/control-plane.js";
import { ControllerProcess } from "../support/controller-process.js";
import { installCrds } from "../support/crds.js";
import { AgentProcess, agentFiles, eventually, removeAgentFiles, type AgentFiles } from "./support/agent-process.js";
import { agentKubeconfig } from "./support/agent-identity.js";
import { bridgeApiserver, type ApiserverBridge } from "./support/apiserver-bridge.js";
import { expectHostSysctlsUntouched } from "./support/host-guard.js";
import { createNamespace, destroyAllNamespaces, nsSysctl } from "./support/netns.js";

/**
 * End to end with real agents: three Node objects, each with a real `tcp-tuning agent` in its own
 * network namespace, under its own ServiceAccount identity (it can read only its own node state), and
 * the real `tcp-tuning controller`. `kubectl apply` of a policy reaches every namespace and the policy
 * becomes Ready (`kubectl wait`); a higher-priority policy overrides one key on one node; deleting
 * both restores every original exactly.
 */

const FIN = "net.ipv4.tcp_fin_timeout";
const KEEPALIVE = "net.ipv4.tcp_keepalive_time";
const REUSE = "net.ipv4.tcp_tw_reuse";
const KEYS = [FIN, KEEPALIVE, REUSE];

interface Member {
  readonly node: string;
  readonly ns: string;
  readonly files: AgentFiles;
  readonly bridge: ApiserverBridge;
  readonly agent: AgentProcess;
  readonly originals: Record<string, string>;
}

let plane: ControlPlane;
let kc: KubeConfig;
let controller: ControllerProcess;
const members: Member[] = [];
const suffix = Math.random().toString(16).slice(2, 8);
const nodeNames = [0, 1, 2].map((i) => `e2e-${suffix}-${i}`);

function kubectl(args: readonly string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      join(binDir(["kubectl"]), "kubectl"),
      ["--kubeconfig", plane.kubeconfigPath, ...args],
      { timeout: 180_000 },
      (err, stdout, stderr) => (err ? reject(new Error(`kubectl ${args.join(" ")}: ${stderr || err.message}`)) : resolve(stdout)),
    );
    child.stdin?.end(input ?? "");
  });
}

const policy = (name: string, spec: Record<string, unknown>): string =>
  JSON.stringify({ apiVersion: "tcptuning.io/v1alpha1", kind: "TcpTuningPolicy", metadata: { name }, spec });

async function values(m: Member): Promise<Record<string, string>> {
  return Object.fromEntries(await Promise.all(KEYS.map(async (k) => [k, await nsSysctl(m.ns, k)] as const)));
}

beforeAll(async () => {
  plane = await ControlPlane.start({ controllers: false });
  kc = new KubeConfig();
  kc.loadFromFile(plane.kubeconfigPath);
  await installCrds(kc);
  const core = kc.makeApiClient(CoreV1Api);
  const port = Number(new URL(plane.server).port);
  for (const [i, node] of nodeNames.entries()) {
    await core.createNode({ body: { metadata: { name: node, labels: { "kubernetes.io/os": "linux", e2e: suffix, "e2e-index": String(i) } } } });
    await core.patchNodeStatus({ name: node, body: { status: { nodeInfo: { kernelVersion: release(), operatingSystem: "linux" } } } }, mergePatch());
    const ns = await createNamespace();
    const files = await agentFiles();
    const bridge = await bridgeApiserver(ns, port, files.dir);
    const identity = await agentKubeconfig(kc, node, files.dir);
    const originals = Object.fromEntries(await Promise.all(KEYS.map(async (k) => [k, await nsSysctl(ns, k)] as const)));
    const agent = AgentProcess.start({
      ns,
      entry: "cli",
      args: ["--kubeconfig", identity, "--state-file", files.state, "--drift-interval", "2s"],
      env: { NODE_NAME: node },
    });
    members.push({ node, ns, files, bridge, agent, originals });
  }
  controller = ControllerProcess.start(`controller-${suffix}`, plane.dir, [
    "--kubeconfig",
    plane.kubeconfigPath,
    "--leader-elect",
    "false",
    "--resync-period",
    "1m",
  ]);
});

afterAll(async () => {
  await controller?.stop();
  for (const m of members) {
    await m.agent.stop("SIGKILL");
    await m.bridge.close();
    await removeAgentFiles(m.files);
  }
  await destroyAllNamespaces();
  await plane?.stop();
});

describe("controller and real agents in network namespaces", () => {
  it("rolls a policy out to every namespace, overrides one key on one node with a higher priority, and restores every original when both are deleted", async () => {
    await kubectl(
      ["apply", "-f", "-"],
      policy(`base-${suffix}`, {
        nodeSelector: { matchLabels: { e2e: suffix } },
        sysctls: [
          { name: FIN, value: "31" },
          { name: KEEPALIVE, value: "601" },
        ],
      }),
    );
    for (const m of members) {
      await eventually(
        `${m.node}: the policy's values`,
        async () => {
          const v = await values(m);
          return v[FIN] === "31" && v[KEEPALIVE] === "601" ? v : undefined;
        },
        120_000,
        250,
      );
    }
    await kubectl(["wait", "--for=condition=Ready", `ttp/base-${suffix}`, "--timeout=120s"]);
    const status = JSON.parse(await kubectl(["get", `ttp/base-${suffix}`, "-o", "json"])) as { status: { nodes: unknown } };
    expect(status.status.nodes).toEqual({ matched: 3, applied: 3, pending: 0, failed: 0, rejected: 0 });

    const [first, second, third] = members as [Member, Member, Member];
    await kubectl(
      ["apply", "-f", "-"],
      policy(`override-${suffix}`, { priority: 10, nodeSelector: { matchLabels: { e2e: suffix, "e2e-index": "1" } }, sysctls: [{ name: FIN, value: "22" }] }),
    );
    await eventually(`${second.node}: the override`, async () => ((await nsSysctl(second.ns, FIN)) === "22" ? true : undefined), 120_000, 250);
    await kubectl(["wait", "--for=condition=Ready", `ttp/override-${suffix}`, `ttp/base-${suffix}`, "--timeout=120s"]);
    expect({ first: await values(first), second: await values(second), third: await values(third) }).toEqual({
      first: { ...first.originals, [FIN]: "31", [KEEPALIVE]: "601" },
      second: { ...second.originals, [FIN]: "22", [KEEPALIVE]: "601" },
      third: { ...third.originals, [FIN]: "31", [KEEPALIVE]: "601" },
    });

    await kubectl(["delete", "ttp", `base-${suffix}`, `override-${suffix}`, "--wait=true", "--timeout=60s"]);
    for (const m of members) {
      await eventually(
        `${m.node}: every original back`,
        async () => {
          const v = await values(m);
          return JSON.stringify(v) === JSON.stringify(m.originals) ? true : undefined;
        },
        120_000,
        250,
      );
    }
    expectHostSysctlsUntouched();
  }, 600_000);
});
