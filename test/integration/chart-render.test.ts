import { readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseAgentArgs } from "../../src/agent/cli.js";
import { parseControllerArgs } from "../../src/controller/main.js";
import { parseWebhookArgs } from "../../src/webhook/main.js";
import { CHART_DIR, helm, only, renderChart, templateArgs, type Rendered } from "../support/helm.js";

// The chart rendered with helm (built by scripts/k8s-bins.sh): lint, templates for the default values
// and every ci/*-values.yaml, the values schema, and the promises the chart makes (least privilege,
// restricted pods, the agent's placement, the webhook configuration in every TLS mode).

const ciValues = readdirSync(join(CHART_DIR, "ci"))
  .filter((f) => f.endsWith("-values.yaml"))
  .sort();
const variants: [string, string[]][] = [["default values", []], ...ciValues.map((f): [string, string[]] => [`ci/${f}`, [join(CHART_DIR, "ci", f)]])];

type Obj = Record<string, unknown>;
const spec = (o: Rendered): Obj => o["spec"] as Obj;
const podSpec = (o: Rendered): Obj => (spec(o)["template"] as Obj)["spec"] as Obj;
const containers = (o: Rendered): Obj[] => podSpec(o)["containers"] as Obj[];
const args = (o: Rendered): string[] => (containers(o)[0]!["args"] as string[]) ?? [];
interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}
const rules = (objects: readonly Rendered[]): { owner: string; rule: Rule }[] =>
  objects
    .filter((o) => o.kind === "ClusterRole" || o.kind === "Role")
    .flatMap((o) => ((o["rules"] as Rule[]) ?? []).map((rule) => ({ owner: `${o.kind}/${o.metadata.name}`, rule })));

describe("the Helm chart", () => {
  it.each(variants)("passes helm lint --strict with %s", async (_name, files) => {
    const r = await helm(["lint", "--strict", CHART_DIR, ...files.flatMap((f) => ["--values", f])]);
    expect(r.stderr + r.stdout).toContain("1 chart(s) linted, 0 chart(s) failed");
    expect(r.code).toBe(0);
  });

  it.each(variants)(
    "renders with %s: RBAC without wildcards or bind/escalate/impersonate, every namespaced object in the release namespace",
    async (_name, files) => {
      const namespace = files.some((f) => f.includes("custom-namespace")) ? "network-tuning" : "tcp-tuning-system";
      const objects = await renderChart({ valuesFiles: files, namespace });
      expect(objects.length).toBeGreaterThan(15);
      for (const { owner, rule } of rules(objects)) {
        for (const field of [rule.apiGroups, rule.resources, rule.verbs]) expect(field, owner).not.toContain("*");
        expect(
          rule.verbs.filter((v) => ["bind", "escalate", "impersonate"].includes(v)),
          owner,
        ).toEqual([]);
      }
      const clusterScoped = new Set([
        "CustomResourceDefinition",
        "ClusterRole",
        "ClusterRoleBinding",
        "ValidatingWebhookConfiguration",
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding",
        "Namespace",
      ]);
      // Roles for Events about cluster-scoped objects live in "default".
      const elsewhere = objects.filter(
        (o) =>
          !clusterScoped.has(o.kind) &&
          o.metadata.namespace !== namespace &&
          !(o.metadata.namespace === "default" && (o.kind === "Role" || o.kind === "RoleBinding")),
      );
      expect(elsewhere.map((o) => `${o.kind}/${o.metadata.name} in ${o.metadata.namespace}`)).toEqual([]);
    },
  );

  it("runs the webhook and controller with 2 replicas as restricted pods: non-root, read-only root, no privilege escalation, seccomp, probes, PDB, topology spread", async () => {
    const objects = await renderChart();
    for (const suffix of ["-webhook", "-controller"]) {
      const d = only(objects, "Deployment", suffix);
      expect(spec(d)["replicas"]).toBe(2);
      expect(podSpec(d)["securityContext"]).toMatchObject({ runAsNonRoot: true, runAsUser: 65532, seccompProfile: { type: "RuntimeDefault" } });
      const c = containers(d)[0]!;
      expect(c["securityContext"]).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } });
      expect(c).toHaveProperty("readinessProbe");
      expect(c).toHaveProperty("livenessProbe");
      expect(c).toHaveProperty("resources.requests.memory");
      expect(podSpec(d)["topologySpreadConstraints"]).toHaveLength(1);
      expect(spec(only(objects, "PodDisruptionBudget", suffix))).toMatchObject({ maxUnavailable: 1 });
    }
    expect(args(only(objects, "Deployment", "-controller"))).toContain("--leader-elect=true");
  });

  it("runs the agent privileged in the host network on Linux nodes only, tolerating every taint, 10% at a time, as system-node-critical", async () => {
    const ds = only(await renderChart(), "DaemonSet", "-agent");
    expect(podSpec(ds)).toMatchObject({
      hostNetwork: true,
      nodeSelector: { "kubernetes.io/os": "linux" },
      tolerations: [{ operator: "Exists" }],
      priorityClassName: "system-node-critical",
    });
    expect(containers(ds)[0]!["securityContext"]).toMatchObject({ privileged: true, runAsUser: 0, readOnlyRootFilesystem: true });
    expect(spec(ds)["updateStrategy"]).toEqual({ type: "RollingUpdate", rollingUpdate: { maxUnavailable: "10%" } });
  });

  it("ships the agent's own-node ValidatingAdmissionPolicy on the token's node-name claim, and can leave it out", async () => {
    const vap = only(await renderChart(), "ValidatingAdmissionPolicy");
    expect(JSON.stringify(vap["spec"])).toContain("authentication.kubernetes.io/node-name");
    expect(only(await renderChart(), "ValidatingAdmissionPolicyBinding")["spec"]).toMatchObject({ validationActions: ["Deny"] });
    const without = await renderChart({ setJson: ["agent.ownNodeOnly=false"] });
    expect(without.filter((o) => o.kind.startsWith("ValidatingAdmissionPolicy"))).toEqual([]);
  });

  it.each([
    ["self-managed", [] as string[]],
    ["cert-manager", ['webhook.tls.mode="cert-manager"']],
    ["files", ['webhook.tls.mode="files"', 'webhook.tls.files.secretName="my-tls"', 'webhook.tls.files.caBundle="Zm9v"']],
  ])("owns the ValidatingWebhookConfiguration with TLS mode %s, calling the chart's Service", async (mode, setJson) => {
    const objects = await renderChart({ setJson });
    const vwc = only(objects, "ValidatingWebhookConfiguration");
    const hook = (vwc["webhooks"] as Obj[])[0]!;
    expect(hook["clientConfig"]).toMatchObject({
      service: { name: "tcp-tuning-operator-webhook", namespace: "tcp-tuning-system", port: 443, path: "/validate" },
    });
    expect(hook["failurePolicy"]).toBe("Fail");
    const annotation = vwc.metadata.annotations?.["cert-manager.io/inject-ca-from"];
    expect(annotation).toBe(mode === "cert-manager" ? "tcp-tuning-system/tcp-tuning-operator-webhook" : undefined);
    expect(objects.some((o) => o.kind === "Certificate")).toBe(mode === "cert-manager");
    // The chart owns the configuration: the webhook writes at most its caBundle (self-managed), else nothing.
    expect(args(only(objects, "Deployment", "-webhook"))).toContain(mode === "self-managed" ? "--ca-bundle-only" : "--no-manage-config");
    if (mode === "files") expect((hook["clientConfig"] as Obj)["caBundle"]).toBe("Zm9v");
    // Only self-managed TLS lets the webhook touch the configuration and a Secret.
    const webhookRules = rules(objects).filter((r) => r.owner.includes("webhook"));
    expect(webhookRules.some((r) => r.rule.resources.includes("validatingwebhookconfigurations"))).toBe(mode === "self-managed");
    expect(webhookRules.some((r) => r.rule.resources.includes("secrets"))).toBe(mode === "self-managed");
  });

  it("installs the CRDs with helm.sh/resource-policy: keep, or not at all with crds.install=false", async () => {
    const crds = (await renderChart()).filter((o) => o.kind === "CustomResourceDefinition");
    expect(crds.map((c) => c.metadata.name).sort()).toEqual(["tcptuningnodestates.tcptuning.io", "tcptuningpolicies.tcptuning.io"]);
    for (const c of crds) expect(c.metadata.annotations?.["helm.sh/resource-policy"]).toBe("keep");
    expect((await renderChart({ setJson: ["crds.install=false"] })).filter((o) => o.kind === "CustomResourceDefinition")).toEqual([]);
  });

  it("passes the default placement for unlabelled nodes to the webhook and the controller", async () => {
    const objects = await renderChart({ setJson: ['defaultPlacement={"nat":"outbound","loadBalancer":"snat","tcpTimestamps":"stripped"}'] });
    for (const suffix of ["-webhook", "-controller"])
      expect(args(only(objects, "Deployment", suffix))).toContain("--default-placement=nat=outbound,load-balancer=snat,tcp-timestamps=stripped");
  });

  it("gives the webhook container webhook.env (by default its memory settings), which a null removes, and the controller none of it", async () => {
    const env = (o: Rendered): Record<string, unknown> =>
      Object.fromEntries(((containers(o)[0]!["env"] as { name: string; value?: unknown }[]) ?? []).map((e) => [e.name, e.value]));
    const objects = await renderChart();
    expect(env(only(objects, "Deployment", "-webhook"))).toMatchObject({ NODE_OPTIONS: "--max-semi-space-size=2", MALLOC_ARENA_MAX: "2" });
    expect(env(only(objects, "Deployment", "-controller"))).not.toHaveProperty("NODE_OPTIONS");
    const changed = await renderChart({ setJson: ['webhook.env={"MALLOC_ARENA_MAX":null,"UV_THREADPOOL_SIZE":"2"}'] });
    const webhook = env(only(changed, "Deployment", "-webhook"));
    expect(webhook).toMatchObject({ NODE_OPTIONS: "--max-semi-space-size=2", UV_THREADPOOL_SIZE: "2" });
    expect(webhook).not.toHaveProperty("MALLOC_ARENA_MAX");
  });

  it("with metrics off renders no metrics Service or ServiceMonitor, while the probes keep their plain-HTTP port", async () => {
    const objects = await renderChart({ valuesFiles: [join(CHART_DIR, "ci", "metrics-off-values.yaml")] });
    expect(objects.filter((o) => o.kind === "ServiceMonitor" || o.metadata.name.endsWith("-metrics"))).toEqual([]);
    const webhook = only(objects, "Deployment", "-webhook");
    expect(args(webhook)).toContain("--metrics-port=8080");
    expect(containers(webhook)[0]).toMatchObject({ readinessProbe: { httpGet: { path: "/readyz", port: "metrics" } } });
  });

  it("with cert-manager renders the ServiceMonitor selecting the metrics Services", async () => {
    const objects = await renderChart({ valuesFiles: [join(CHART_DIR, "ci", "cert-manager-values.yaml")] });
    const monitor = only(objects, "ServiceMonitor");
    expect(monitor.metadata.labels).toMatchObject({ release: "prometheus" });
    const selector = (spec(monitor)["selector"] as { matchLabels: Record<string, string> }).matchLabels;
    const selected = objects.filter((o) => o.kind === "Service" && Object.entries(selector).every(([k, v]) => o.metadata.labels?.[k] === v));
    expect(selected.map((o) => o.metadata.name).sort()).toEqual([
      "tcp-tuning-operator-agent-metrics",
      "tcp-tuning-operator-controller-metrics",
      "tcp-tuning-operator-webhook-metrics",
    ]);
  });

  it("creates and labels the namespace for privileged pods when namespace.create is set", async () => {
    const ns = only(await renderChart({ valuesFiles: [join(CHART_DIR, "ci", "custom-namespace-values.yaml")], namespace: "network-tuning" }), "Namespace");
    expect(ns.metadata).toMatchObject({ name: "network-tuning", labels: { "pod-security.kubernetes.io/enforce": "privileged", team: "platform" } });
  });

  it.each([
    ["self-managed", []],
    ["cert-manager", ['webhook.tls.mode="cert-manager"']],
    ["files", ['webhook.tls.mode="files"', 'webhook.tls.files.secretName="my-tls"', 'webhook.tls.files.caBundle="Zm9v"']],
  ])("gives the webhook (TLS %s), the controller and the agent only flags their command-line parsers accept", async (mode, setJson) => {
    const objects = await renderChart({ setJson: ['defaultPlacement={"nat":"none"}', ...setJson] });
    const [webhookCmd, ...webhookArgs] = args(only(objects, "Deployment", "-webhook"));
    expect(webhookCmd).toBe("webhook");
    expect(parseWebhookArgs(webhookArgs, { POD_NAMESPACE: "tcp-tuning-system" })).toMatchObject({
      configName: "tcp-tuning-operator-tcp-tuning-system",
      tlsMode: mode,
      metricsPort: 8080,
    });
    const [controllerCmd, ...controllerArgs] = args(only(objects, "Deployment", "-controller"));
    expect(controllerCmd).toBe("controller");
    expect(parseControllerArgs(controllerArgs, { POD_NAMESPACE: "tcp-tuning-system", POD_NAME: "c-0" })).toMatchObject({
      leaderElect: true,
      leaseName: "tcp-tuning-operator-controller",
      leaseNamespace: "tcp-tuning-system",
      leaseDurationMs: 15_000,
      identity: "c-0",
    });
    const [agentCmd, ...agentArgs] = args(only(objects, "DaemonSet", "-agent"));
    expect(agentCmd).toBe("agent");
    expect(parseAgentArgs(agentArgs, { NODE_NAME: "node-a" })).toMatchObject({
      nodeName: "node-a",
      stateFile: "/var/lib/tcp-tuning/agent-state.json",
      metricsPort: 9810,
    });
  });
});

describe("the chart's values schema", () => {
  it.each([
    ["an unknown top-level key", ["replicaCount=2"], "replicaCount"],
    ["an unknown nested key", ['webhook={"replica":2}'], "replica"],
    ["a string where a number belongs", ['controller.replicas="two"'], "replicas"],
    ["a value outside an enum", ['webhook.tls.mode="magic"'], "mode"],
    ["a bad default placement", ['defaultPlacement.nat="sometimes"'], "nat"],
    ["a wrong type for a list", ['agent.tolerations={"operator":"Exists"}'], "tolerations"],
    ["a bad maxUnavailable", ['agent.maxUnavailable="ten percent"'], "maxUnavailable"],
  ])("refuses %s", async (_what, setJson, key) => {
    const r = await helm(templateArgs({ setJson }));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/schema/i);
    expect(r.stderr).toContain(key);
  });
});
