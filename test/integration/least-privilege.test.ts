import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AdmissionregistrationV1Api, ApiException, AuthorizationV1Api, CustomObjectsApi, KubeConfig } from "@kubernetes/client-node";
import { stringify } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { API_GROUP, API_GROUP_VERSION, API_VERSION, NODE_STATE_KIND, NODE_STATE_PLURAL } from "../../src/api/v1alpha1/group.js";
import { applyCustomObject } from "../../src/kube/apply.js";
import { FIELD_MANAGERS } from "../../src/kube/client.js";
import { mergePatch } from "../../src/kube/patch.js";
import { kubeConfig, kubectl, uniqueName } from "../support/cluster.js";
import { REPO_ROOT } from "../support/control-plane.js";
import { installCrds } from "../support/crds.js";
import { eventually } from "../support/eventually.js";
import { CHART_DIR, renderChart, type Rendered } from "../support/helm.js";
import { ProcessGroup } from "../support/process-group.js";
import { serviceAccountKubeconfig } from "../support/service-account.js";
import { POLICY_REF } from "./webhook-harness.js";

// Least privilege (issue 14): every identity the chart creates, rendered by helm and server-side
// applied to the real control plane, asked through SubjectAccessReview what it can and what it cannot
// do; and kernel.core_pattern stopped at each layer with the webhook out of the way.
// The own-node admission policy (an agent's token bound to node A writing node B's state) is tested
// in chart-install.test.ts; RBAC alone cannot say "my node", and the matrix below shows that it is
// not asked to (the agent may patch any state's status as far as RBAC goes).

const release = "tcp-tuning";
const namespace = uniqueName("ttp-rbac");
const certManagerNamespace = uniqueName("ttp-rbac-cm");
const RBAC_KINDS = new Set(["Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"]);
let kc: KubeConfig;
let applied: Rendered[] = [];
let dir: string;

const sa = (component: string, ns = namespace): string => `system:serviceaccount:${ns}:tcp-tuning-operator-${component}`;

async function applyRendered(objects: readonly Rendered[]): Promise<void> {
  const input = objects.map((o) => stringify(o)).join("---\n");
  await kubectl(["apply", "--server-side", "--force-conflicts", "--field-manager=least-privilege-test", "-f", "-"], { input, timeoutMs: 120_000 });
  applied.push(...objects);
}

interface Access {
  readonly verb: string;
  readonly resource: string;
  readonly group?: string;
  readonly subresource?: string;
  /** A namespace, "<release>" for the release namespace, or none (cluster scope / all namespaces). */
  readonly namespace?: string;
  readonly name?: string;
}

async function allowed(user: string, a: Access): Promise<boolean> {
  const ns = a.namespace === "<release>" ? user.split(":")[2] : a.namespace;
  const review = await kc.makeApiClient(AuthorizationV1Api).createSubjectAccessReview({
    body: {
      spec: {
        user,
        groups: ["system:serviceaccounts", `system:serviceaccounts:${user.split(":")[2]}`, "system:authenticated"],
        resourceAttributes: {
          verb: a.verb,
          group: a.group ?? "",
          resource: a.resource,
          subresource: a.subresource ?? "",
          namespace: ns ?? "",
          name: a.name ?? "",
        },
      },
    },
  });
  return review.status?.allowed === true;
}

const describeAccess = (a: Access): string =>
  `${a.verb} ${a.group ? `${a.group}/` : ""}${a.resource}${a.subresource ? `/${a.subresource}` : ""}${a.name ? ` ${a.name}` : ""}${a.namespace ? ` in ${a.namespace}` : a.verb === "create" || a.verb === "list" ? " (all namespaces)" : ""}`;

const TT = "tcptuning.io";
const EV = "events.k8s.io";
const ADM = "admissionregistration.k8s.io";
const LEASES = { group: "coordination.k8s.io", resource: "leases" };

/** What no identity of the chart may do: escalate, read secrets elsewhere, run pods, impersonate. */
const NOBODY: readonly Access[] = [
  { verb: "*", group: "*", resource: "*" },
  { verb: "get", resource: "secrets", namespace: "kube-system" },
  { verb: "list", resource: "secrets" },
  { verb: "create", resource: "pods", namespace: "<release>" },
  { verb: "create", resource: "pods", subresource: "exec", namespace: "<release>" },
  { verb: "create", resource: "serviceaccounts", subresource: "token", namespace: "<release>", name: "tcp-tuning-operator-controller" },
  { verb: "impersonate", resource: "users" },
  { verb: "impersonate", resource: "serviceaccounts" },
  { verb: "create", group: "rbac.authorization.k8s.io", resource: "clusterrolebindings" },
  { verb: "escalate", group: "rbac.authorization.k8s.io", resource: "clusterroles" },
  { verb: "bind", group: "rbac.authorization.k8s.io", resource: "clusterroles" },
  { verb: "update", group: "apiextensions.k8s.io", resource: "customresourcedefinitions", name: "tcptuningpolicies.tcptuning.io" },
  { verb: "delete", group: ADM, resource: "validatingwebhookconfigurations" },
  { verb: "delete", group: ADM, resource: "validatingadmissionpolicies" },
  { verb: "patch", resource: "nodes" },
  { verb: "delete", group: TT, resource: "tcptuningnodestates" },
  { verb: "delete", group: TT, resource: "tcptuningpolicies" },
  { verb: "create", group: TT, resource: "tcptuningpolicies" },
];

/** [identity, access, allowed]: every grant of the chart's roles, and the nearest things they must not reach. */
const MATRIX: readonly (readonly [string, Access, boolean])[] = [
  // The agent: reads node states, writes their status (its own node's: the admission policy), Events.
  ["agent", { verb: "get", group: TT, resource: "tcptuningnodestates", name: "any-node" }, true],
  ["agent", { verb: "list", group: TT, resource: "tcptuningnodestates" }, true],
  ["agent", { verb: "watch", group: TT, resource: "tcptuningnodestates" }, true],
  ["agent", { verb: "patch", group: TT, resource: "tcptuningnodestates", subresource: "status" }, true],
  ["agent", { verb: "create", group: EV, resource: "events", namespace: "default" }, true],
  ["agent", { verb: "patch", group: EV, resource: "events", namespace: "default" }, true],
  ["agent", { verb: "update", group: TT, resource: "tcptuningnodestates", subresource: "status" }, false],
  ["agent", { verb: "patch", group: TT, resource: "tcptuningnodestates" }, false],
  ["agent", { verb: "create", group: TT, resource: "tcptuningnodestates" }, false],
  ["agent", { verb: "update", group: TT, resource: "tcptuningnodestates" }, false],
  ["agent", { verb: "list", group: TT, resource: "tcptuningpolicies" }, false],
  ["agent", { verb: "patch", group: TT, resource: "tcptuningpolicies", subresource: "status" }, false],
  ["agent", { verb: "list", resource: "nodes" }, false],
  ["agent", { verb: "create", group: EV, resource: "events", namespace: "kube-system" }, false],
  ["agent", { verb: "delete", group: EV, resource: "events", namespace: "default" }, false],
  ["agent", { verb: "get", resource: "secrets", namespace: "<release>", name: "tcp-tuning-operator-webhook-tls" }, false],
  ["agent", { verb: "create", ...LEASES, namespace: "<release>" }, false],
  // The controller: policies (finalizer patch and status), node states (create and apply spec), nodes, Events, its Lease.
  ["controller", { verb: "list", group: TT, resource: "tcptuningpolicies" }, true],
  ["controller", { verb: "watch", group: TT, resource: "tcptuningpolicies" }, true],
  ["controller", { verb: "patch", group: TT, resource: "tcptuningpolicies" }, true],
  ["controller", { verb: "patch", group: TT, resource: "tcptuningpolicies", subresource: "status" }, true],
  ["controller", { verb: "list", group: TT, resource: "tcptuningnodestates" }, true],
  ["controller", { verb: "watch", group: TT, resource: "tcptuningnodestates" }, true],
  ["controller", { verb: "create", group: TT, resource: "tcptuningnodestates" }, true],
  ["controller", { verb: "patch", group: TT, resource: "tcptuningnodestates" }, true],
  ["controller", { verb: "list", resource: "nodes" }, true],
  ["controller", { verb: "watch", resource: "nodes" }, true],
  ["controller", { verb: "list", group: EV, resource: "events", namespace: "default" }, true],
  ["controller", { verb: "create", group: EV, resource: "events", namespace: "default" }, true],
  ["controller", { verb: "patch", group: EV, resource: "events", namespace: "default" }, true],
  ["controller", { verb: "create", ...LEASES, namespace: "<release>" }, true],
  ["controller", { verb: "get", ...LEASES, namespace: "<release>", name: "tcp-tuning-operator-controller" }, true],
  ["controller", { verb: "update", ...LEASES, namespace: "<release>", name: "tcp-tuning-operator-controller" }, true],
  ["controller", { verb: "update", ...LEASES, namespace: "<release>", name: "kube-controller-manager" }, false],
  ["controller", { verb: "update", ...LEASES, namespace: "kube-system", name: "tcp-tuning-operator-controller" }, false],
  ["controller", { verb: "delete", ...LEASES, namespace: "<release>", name: "tcp-tuning-operator-controller" }, false],
  ["controller", { verb: "update", group: TT, resource: "tcptuningpolicies" }, false],
  ["controller", { verb: "patch", group: TT, resource: "tcptuningnodestates", subresource: "status" }, false],
  ["controller", { verb: "get", resource: "nodes", name: "any-node" }, false],
  ["controller", { verb: "patch", resource: "nodes", subresource: "status" }, false],
  ["controller", { verb: "create", group: EV, resource: "events", namespace: "<release>" }, false],
  ["controller", { verb: "get", resource: "secrets", namespace: "<release>", name: "tcp-tuning-operator-webhook-tls" }, false],
  // The webhook (self-managed TLS): its cache, its Secret, the caBundle of its own configuration.
  ["webhook", { verb: "list", resource: "nodes" }, true],
  ["webhook", { verb: "watch", resource: "nodes" }, true],
  ["webhook", { verb: "list", group: TT, resource: "tcptuningnodestates" }, true],
  ["webhook", { verb: "watch", group: TT, resource: "tcptuningnodestates" }, true],
  ["webhook", { verb: "get", group: ADM, resource: "validatingwebhookconfigurations", name: `tcp-tuning-operator-${namespace}` }, true],
  ["webhook", { verb: "patch", group: ADM, resource: "validatingwebhookconfigurations", name: `tcp-tuning-operator-${namespace}` }, true],
  ["webhook", { verb: "create", resource: "secrets", namespace: "<release>" }, true],
  ["webhook", { verb: "get", resource: "secrets", namespace: "<release>", name: "tcp-tuning-operator-webhook-tls" }, true],
  ["webhook", { verb: "update", resource: "secrets", namespace: "<release>", name: "tcp-tuning-operator-webhook-tls" }, true],
  ["webhook", { verb: "patch", group: ADM, resource: "validatingwebhookconfigurations", name: "some-other-webhook" }, false],
  ["webhook", { verb: "create", group: ADM, resource: "validatingwebhookconfigurations" }, false],
  ["webhook", { verb: "get", resource: "secrets", namespace: "<release>", name: "some-other-secret" }, false],
  ["webhook", { verb: "list", resource: "secrets", namespace: "<release>" }, false],
  ["webhook", { verb: "delete", resource: "secrets", namespace: "<release>", name: "tcp-tuning-operator-webhook-tls" }, false],
  ["webhook", { verb: "create", resource: "secrets", namespace: "default" }, false],
  ["webhook", { verb: "patch", group: TT, resource: "tcptuningnodestates" }, false],
  ["webhook", { verb: "patch", group: TT, resource: "tcptuningnodestates", subresource: "status" }, false],
  ["webhook", { verb: "list", group: TT, resource: "tcptuningpolicies" }, false],
  ["webhook", { verb: "get", resource: "nodes", name: "any-node" }, false],
  // The webhook with cert-manager: cert-manager owns the Secret and the caBundle; the webhook only reads its cache.
  ["webhook@cert-manager", { verb: "list", resource: "nodes" }, true],
  ["webhook@cert-manager", { verb: "watch", group: TT, resource: "tcptuningnodestates" }, true],
  ["webhook@cert-manager", { verb: "create", resource: "secrets", namespace: "<release>" }, false],
  ["webhook@cert-manager", { verb: "get", resource: "secrets", namespace: "<release>", name: "tcp-tuning-operator-webhook-tls" }, false],
  [
    "webhook@cert-manager",
    { verb: "patch", group: ADM, resource: "validatingwebhookconfigurations", name: `tcp-tuning-operator-${certManagerNamespace}` },
    false,
  ],
];

const IDENTITIES = ["agent", "controller", "webhook", "webhook@cert-manager"] as const;
const userOf = (identity: string): string => (identity === "webhook@cert-manager" ? sa("webhook", certManagerNamespace) : sa(identity));

beforeAll(async () => {
  kc = kubeConfig();
  await installCrds(kc);
  dir = await mkdtemp(join(tmpdir(), "ttp-rbac-"));
  const selfManaged = await renderChart({ release, namespace, setJson: ["namespace.create=true"] });
  const certManager = await renderChart({
    release,
    namespace: certManagerNamespace,
    setJson: ["namespace.create=true"],
    valuesFiles: [join(CHART_DIR, "ci", "cert-manager-values.yaml")],
  });
  // The identities and their grants (the workloads are not needed to ask the authorizer), and the
  // chart's webhook configuration, which the scope test deletes.
  await applyRendered([
    ...selfManaged.filter((o) => RBAC_KINDS.has(o.kind) || o.kind === "ValidatingWebhookConfiguration"),
    ...certManager.filter((o) => RBAC_KINDS.has(o.kind)),
  ]);
});

afterAll(async () => {
  const admission = kc.makeApiClient(AdmissionregistrationV1Api);
  await admission.deleteValidatingWebhookConfiguration({ name: `tcp-tuning-operator-${namespace}` }).catch(() => undefined);
  await kubectl(["delete", "--ignore-not-found", "--wait=false", "-f", "-"], {
    input: applied.map((o) => stringify(o)).join("---\n"),
    timeoutMs: 60_000,
  }).catch(() => undefined);
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("least privilege: what each identity of the chart can and cannot do (SubjectAccessReview)", () => {
  it("grants no wildcard: no '*' in any apiGroups, resources, verbs or resourceNames, and binds only the chart's ServiceAccounts", () => {
    const roles = applied.filter((o) => o.kind === "ClusterRole" || o.kind === "Role");
    expect(roles.length).toBeGreaterThanOrEqual(8);
    for (const role of roles) {
      for (const rule of (role["rules"] as Record<string, string[] | undefined>[]) ?? []) {
        for (const field of ["apiGroups", "resources", "verbs", "resourceNames", "nonResourceURLs"]) {
          expect(rule[field] ?? [], `${role.kind} ${role.metadata.name} ${field}`).not.toContain("*");
          expect(
            (rule[field] ?? []).filter((v) => v.includes("*")),
            `${role.kind} ${role.metadata.name} ${field}`,
          ).toEqual([]);
        }
      }
    }
    const bindings = applied.filter((o) => o.kind === "ClusterRoleBinding" || o.kind === "RoleBinding");
    expect(bindings.length).toBe(roles.length);
    for (const b of bindings) {
      for (const s of b["subjects"] as { kind: string; name: string; namespace: string }[]) {
        expect(s.kind, b.metadata.name).toBe("ServiceAccount");
        expect(s.name).toMatch(/^tcp-tuning-operator-(agent|controller|webhook)$/);
        expect([namespace, certManagerNamespace]).toContain(s.namespace);
      }
    }
  });

  it.each(
    IDENTITIES.flatMap((id) =>
      MATRIX.filter(([who]) => who === id).map(([who, a, expected]) => [who, `${expected ? "can" : "cannot"} ${describeAccess(a)}`, a, expected] as const),
    ),
  )("%s %s", async (identity, _what, access, expected) => {
    expect(await allowed(userOf(identity), access)).toBe(expected);
  });

  it.each(IDENTITIES.flatMap((id) => NOBODY.map((a) => [id, describeAccess(a), a] as const)))("%s cannot %s", async (identity, _what, access) => {
    expect(await allowed(userOf(identity), access)).toBe(false);
  });

  it("asks a real authorizer: the same questions for the admin are allowed (a matrix of 'false' from a broken review would prove nothing)", async () => {
    expect(await allowed("system:admin-check", { verb: "list", resource: "nodes" })).toBe(false);
    const review = await kc.makeApiClient(AuthorizationV1Api).createSubjectAccessReview({
      body: { spec: { user: "admin", groups: ["system:masters"], resourceAttributes: { verb: "delete", group: TT, resource: "tcptuningnodestates" } } },
    });
    expect(review.status?.allowed).toBe(true);
  });
});

describe("kernel.core_pattern cannot reach an agent, even with the webhook configuration deleted", () => {
  const EVIL = "|/tmp/tt-evil %p";
  const CEL = "kernel.*, vm.* and fs.* never are";

  async function refusal(write: Promise<unknown>): Promise<{ code: number; body: string }> {
    try {
      await write;
    } catch (err) {
      // applyCustomObject wraps the ApiException with what it was doing.
      const api = err instanceof ApiException ? err : (err as Error).cause;
      if (api instanceof ApiException) return { code: api.code, body: String(api.body) };
      throw err;
    }
    throw new Error("the write was admitted");
  }

  it("has no webhook in the way: the chart's configuration is deleted and none left intercepts policies", async () => {
    const admission = kc.makeApiClient(AdmissionregistrationV1Api);
    await admission.deleteValidatingWebhookConfiguration({ name: `tcp-tuning-operator-${namespace}` });
    const intercepting = (await admission.listValidatingWebhookConfiguration()).items.filter((c) =>
      (c.webhooks ?? []).some((w) => (w.rules ?? []).some((r) => (r.apiGroups ?? []).some((g) => g === TT || g === "*"))),
    );
    expect(intercepting.map((c) => c.metadata?.name)).toEqual([]);
  });

  it("the policy CRD's CEL refuses it at the API server: on create and on update of an admitted policy (422)", async () => {
    const custom = kc.makeApiClient(CustomObjectsApi);
    const evil = uniqueName("core-pattern");
    const policy = (name: string, sysctlName: string, value: string) => ({
      apiVersion: API_GROUP_VERSION,
      kind: "TcpTuningPolicy",
      metadata: { name },
      spec: { sysctls: [{ name: sysctlName, value }] },
    });
    const created = await refusal(custom.createClusterCustomObject({ ...POLICY_REF, body: policy(evil, "kernel.core_pattern", EVIL) }));
    expect(created.code).toBe(422);
    expect(created.body).toContain(CEL);
    const disguised = await refusal(
      custom.createClusterCustomObject({ ...POLICY_REF, body: policy(`${evil}-path`, "net/ipv4/../../kernel/core_pattern", EVIL) }),
    );
    expect(disguised.code).toBe(422);
    expect(disguised.body).toContain("sysctl names are dotted lowercase words");

    const benign = uniqueName("benign");
    await custom.createClusterCustomObject({ ...POLICY_REF, body: policy(benign, "net.ipv4.tcp_keepalive_time", "600") });
    try {
      const updated = await refusal(
        custom.patchClusterCustomObject(
          { ...POLICY_REF, name: benign, body: { spec: { sysctls: [{ name: "kernel.core_pattern", value: EVIL }] } } },
          mergePatch(),
        ),
      );
      expect(updated.code).toBe(422);
      expect(updated.body).toContain(CEL);
    } finally {
      await custom.deleteClusterCustomObject({ ...POLICY_REF, name: benign }).catch(() => undefined);
    }
  });

  it("the node state CRD's CEL refuses it too: written directly by the admin, and applied with the controller's own token (422)", async () => {
    const node = uniqueName("evil-node");
    const state = {
      apiVersion: API_GROUP_VERSION,
      kind: NODE_STATE_KIND,
      metadata: { name: node },
      spec: { nodeName: node, sysctls: [{ name: "kernel.core_pattern", value: EVIL, policy: "attacker" }] },
    };
    const ref = { group: API_GROUP, version: API_VERSION, plural: NODE_STATE_PLURAL };
    const asAdmin = await refusal(kc.makeApiClient(CustomObjectsApi).createClusterCustomObject({ ...ref, body: state }));
    expect(asAdmin.code).toBe(422);
    expect(asAdmin.body).toContain(CEL);

    const controller = new KubeConfig();
    controller.loadFromFile(await serviceAccountKubeconfig(kc, namespace, "tcp-tuning-operator-controller", dir));
    const asController = await refusal(
      applyCustomObject(controller.makeApiClient(CustomObjectsApi), { ...ref, name: node }, state, { fieldManager: FIELD_MANAGERS.controller, force: true }),
    );
    expect(asController.code).toBe(422);
    expect(asController.body).toContain(CEL);
    await expect(kc.makeApiClient(CustomObjectsApi).getClusterCustomObject({ ...ref, name: node })).rejects.toMatchObject({ code: 404 });
  });

  it("the agent refuses it on its own when a node state names it anyway (file backend): Refused in status, nothing written, core_pattern untouched", async () => {
    const root = join(dir, "sysctl");
    const corePattern = join(root, "kernel", "core_pattern");
    const reuse = join(root, "net", "ipv4", "tcp_tw_reuse");
    await mkdir(join(root, "kernel", "random"), { recursive: true });
    await mkdir(join(root, "net", "ipv4"), { recursive: true });
    await writeFile(join(root, "kernel", "random", "boot_id"), "boot-least-privilege\n");
    await writeFile(corePattern, "core\n");
    await writeFile(reuse, "2\n");
    const files = {
      desired: join(dir, "desired.yaml"),
      status: join(dir, "status.json"),
      events: join(dir, "events.jsonl"),
      state: join(dir, "state", "agent-state.json"),
    };
    await mkdir(join(dir, "state"), { mode: 0o700 });
    // What a compromised controller or a CRD installed without its validation would hand the agent.
    await writeFile(
      files.desired,
      stringify({
        apiVersion: API_GROUP_VERSION,
        kind: NODE_STATE_KIND,
        metadata: { name: "worker-1", generation: 1 },
        spec: {
          nodeName: "worker-1",
          sysctls: [
            { name: "kernel.core_pattern", value: EVIL, policy: "attacker" },
            { name: "net.ipv4.tcp_tw_reuse", value: "1", policy: "attacker" },
          ],
        },
      }),
    );
    const agent = new ProcessGroup({
      name: "agent",
      command: process.execPath,
      args: [
        join(REPO_ROOT, "bin", "tcp-tuning.js"),
        "agent",
        "--node-name",
        "worker-1",
        "--sysctl-root",
        root,
        "--proc-net",
        join(root, "no-proc-net"),
        "--state-file",
        files.state,
        "--desired-file",
        files.desired,
        "--status-file",
        files.status,
        "--events-file",
        files.events,
        "--poll-interval",
        "100ms",
      ],
      env: { ...process.env, LOG_FORMAT: "json" },
      logFile: join(dir, "agent.log"),
    });
    try {
      const status = await eventually(
        "the agent's status of generation 1",
        async () => {
          const file = JSON.parse(await readFile(files.status, "utf8").catch(() => "{}")) as {
            status?: {
              observedGeneration?: number;
              keys?: { name: string; result: string; message?: string }[];
              conditions?: { type: string; status: string; reason: string }[];
            };
          };
          return file.status?.observedGeneration === 1 ? file.status : undefined;
        },
        60_000,
        200,
      ).catch((err: unknown) => {
        throw new Error(`${(err as Error).message}; agent: ${agent.lastLines()}`);
      });
      expect(Object.fromEntries((status.keys ?? []).map((k) => [k.name, k.result]))).toEqual({
        "kernel.core_pattern": "Refused",
        "net.ipv4.tcp_tw_reuse": "Pending",
      });
      expect(status.keys?.find((k) => k.name === "kernel.core_pattern")?.message).toMatch(/out of scope/);
      expect(status.conditions?.find((c) => c.type === "Degraded")).toMatchObject({ status: "True", reason: "Refused" });
      // All or nothing: the allowed key of the same generation was not written either; core_pattern never.
      expect(await readFile(corePattern, "utf8")).toBe("core\n");
      expect(await readFile(reuse, "utf8")).toBe("2\n");
      const events = (await readFile(files.events, "utf8"))
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as { reason: string });
      expect(events.map((e) => e.reason)).toContain("SysctlRefused");
    } finally {
      await agent.stop();
    }
  }, 120_000);
});
