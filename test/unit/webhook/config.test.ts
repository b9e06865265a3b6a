import { describe, expect, it } from "vitest";
import { createCa } from "../../../src/certs/certificates.js";
import { caBundleOf, webhookConfiguration } from "../../../src/webhook/config.js";
import { parseWebhookArgs } from "../../../src/webhook/main.js";

const life = { validityMs: 3600_000, backdateMs: 0 };

const a = await createCa(new Date(), life);
const b = await createCa(new Date(), life);

describe("webhookConfiguration", () => {
  const config = webhookConfiguration({ endpoint: { service: { namespace: "tt", name: "wh", port: 443 } }, caBundle: [a.certPem, b.certPem] });
  const hook = config.webhooks?.[0];

  it("fails closed, has no side effects, answers within 5 s and speaks AdmissionReview v1 only", async () => {
    expect(hook).toMatchObject({ failurePolicy: "Fail", sideEffects: "None", matchPolicy: "Equivalent", admissionReviewVersions: ["v1"] });
    expect(hook?.timeoutSeconds).toBeLessThanOrEqual(5);
  });

  it("matches only TcpTuningPolicy CREATE and UPDATE, so nothing else in the cluster depends on it", async () => {
    expect(hook?.rules).toEqual([
      { apiGroups: ["tcptuning.io"], apiVersions: ["v1alpha1"], resources: ["tcptuningpolicies"], operations: ["CREATE", "UPDATE"], scope: "Cluster" },
    ]);
  });

  it("points at the Service's /validate and carries every CA of the bundle", async () => {
    expect(hook?.clientConfig.service).toEqual({ namespace: "tt", name: "wh", port: 443, path: "/validate" });
    expect(caBundleOf(config)).toEqual([a.certPem, b.certPem]);
  });
});

describe("parseWebhookArgs", () => {
  it("puts the Service's DNS names in the certificate, in the pod's namespace", async () => {
    const s = parseWebhookArgs([], { POD_NAMESPACE: "ops" });
    expect(s).not.toBe("help");
    if (s === "help") return;
    expect(s.dnsNames).toEqual(["tcp-tuning-webhook.ops.svc", "tcp-tuning-webhook.ops.svc.cluster.local"]);
    expect(s.port).toBe(8443);
    expect(s.secret).toBe("tcp-tuning-webhook-tls");
  });

  it("uses the host of --url as the certificate's IP address", async () => {
    const s = parseWebhookArgs(["--url", "https://127.0.0.1:9443/validate", "--port", "9443"], {});
    if (s === "help") throw new Error("help");
    expect(s.ipAddresses).toEqual(["127.0.0.1"]);
    expect(s.dnsNames).toEqual([]);
  });

  it.each([
    { argv: [], env: {}, mode: "self-managed", writes: "all", remove: true },
    { argv: [], env: { KUBERNETES_SERVICE_HOST: "10.96.0.1" }, mode: "self-managed", writes: "all", remove: false },
    { argv: ["--keep-config-on-exit"], env: {}, mode: "self-managed", writes: "all", remove: false },
    { argv: ["--no-manage-config"], env: {}, mode: "self-managed", writes: "none", remove: false },
    { argv: ["--ca-bundle-only"], env: { KUBERNETES_SERVICE_HOST: "10.96.0.1" }, mode: "self-managed", writes: "ca-bundle", remove: false },
    { argv: ["--tls-mode", "cert-manager"], env: {}, mode: "cert-manager", writes: "none", remove: false },
    { argv: [], env: { WEBHOOK_TLS_MODE: "cert-manager" }, mode: "cert-manager", writes: "none", remove: false },
    { argv: ["--tls-mode", "files"], env: {}, mode: "files", writes: "all", remove: true },
    { argv: ["--tls-mode", "files", "--no-manage-config"], env: {}, mode: "files", writes: "none", remove: false },
  ])("$argv with $env: TLS mode $mode, writes $writes of the configuration, removes it on exit: $remove", ({ argv, env, mode, writes, remove }) => {
    const s = parseWebhookArgs(argv, env);
    if (s === "help") throw new Error("help");
    expect({ mode: s.tlsMode, writes: s.configWrites, remove: s.removeConfigOnExit }).toEqual({ mode, writes, remove });
  });

  it("reads the certificate directory from --cert-dir, else WEBHOOK_CERT_DIR, else the chart's mount path", () => {
    const dir = (argv: string[], env: Record<string, string>): string => {
      const s = parseWebhookArgs(argv, env);
      if (s === "help") throw new Error("help");
      return s.certDir;
    };
    expect(dir(["--cert-dir", "/x"], { WEBHOOK_CERT_DIR: "/y" })).toBe("/x");
    expect(dir([], { WEBHOOK_CERT_DIR: "/y" })).toBe("/y");
    expect(dir([], {})).toBe("/etc/tcp-tuning/webhook-tls");
  });

  it.each([
    [["--tls-mode", "acme"], /--tls-mode must be one of self-managed, cert-manager, files/],
    [["--no-manage-config", "--ca-bundle-only"], /exclude each other/],
    [["--tls-mode", "cert-manager", "--ca-bundle-only"], /CA injector owns the caBundle/],
    [["--port", "x"], /--port must be an integer/],
    [["--bogus"], /Unknown option/],
    [["--default-placement", "nat=sideways"], /nat/],
  ])("refuses %j", (argv, message) => {
    expect(() => parseWebhookArgs(argv, {})).toThrow(message);
  });
});
