import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { request } from "node:https";
import { request as httpRequest, type IncomingMessage } from "node:http";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { stringify } from "yaml";
import { createPki, type Pki } from "./pki.js";
import { freePorts } from "./ports.js";
import { ProcessGroup } from "./process-group.js";

/** The repository root (this file is test/support/control-plane.ts). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

const READY_LIMIT_MS = 120_000;
const POLL_MS = 250;

/**
 * Where the control plane binaries are: $KUBEBUILDER_ASSETS (the envtest convention) or the
 * .bin/k8s link that scripts/k8s-bins.sh makes. Throws when a needed binary is missing.
 */
export function binDir(required: readonly string[] = ["etcd", "kube-apiserver"]): string {
  const assets = process.env["KUBEBUILDER_ASSETS"];
  const dir = assets ? resolve(assets) : join(REPO_ROOT, ".bin", "k8s");
  const missing = required.filter((b) => !existsSync(join(dir, b)));
  if (missing.length > 0) {
    throw new Error(
      `control plane binaries missing: run bash scripts/k8s-bins.sh (${missing.join(", ")} not found in ${dir}` +
        `${assets ? ", the KUBEBUILDER_ASSETS folder: put them there or unset KUBEBUILDER_ASSETS" : ""})`,
    );
  }
  return dir;
}

export interface ControlPlaneOptions {
  /** Also run kube-controller-manager and kube-scheduler (needed for a DaemonSet to get pods). */
  readonly controllers?: boolean;
  /** Folder for certificates, data and logs; a new temp folder (removed on stop) when absent. */
  readonly dir?: string;
  /** More kube-apiserver flags, after the defaults (a later flag wins), e.g. --feature-gates=... */
  readonly apiserverArgs?: readonly string[];
  /** Called with a line for each step, e.g. to print progress. */
  readonly onProgress?: (message: string) => void;
}

/** How long each part took to become ready, in milliseconds. */
export interface StartTimings {
  readonly pki: number;
  readonly etcd: number;
  readonly apiserver: number;
  readonly controllers?: number;
  readonly total: number;
}

interface Tls {
  readonly ca: Buffer;
  readonly cert: Buffer;
  readonly key: Buffer;
}

/**
 * A real local control plane: etcd and kube-apiserver on free loopback ports with generated
 * certificates, optionally kube-controller-manager and kube-scheduler, and an admin kubeconfig.
 */
export class ControlPlane {
  private constructor(
    /** Folder with certificates, data, logs and the kubeconfig. */
    readonly dir: string,
    /** https://127.0.0.1:PORT */
    readonly server: string,
    /** An admin (system:masters) kubeconfig for this control plane. */
    readonly kubeconfigPath: string,
    readonly pki: Pki,
    readonly timings: StartTimings,
    private readonly processes: ProcessGroup[],
    private readonly ownsDir: boolean,
    private readonly tls: Tls,
  ) {}

  /**
   * Stops one process of the control plane (SIGTERM, as a rolling restart does) and starts it again
   * with the same flags, port and data, then waits until it serves again: for tests of watches and
   * clients across an apiserver or etcd restart. Returns how long it was away, in milliseconds.
   */
  async restart(name: "kube-apiserver" | "etcd", downMs = 0): Promise<number> {
    const index = this.processes.findIndex((p) => p.name === name);
    const old = this.processes[index];
    if (!old) throw new Error(`no ${name} in this control plane`);
    const t0 = performance.now();
    await old.stop();
    if (downMs > 0) await new Promise((r) => setTimeout(r, downMs));
    const next = new ProcessGroup(old.options);
    this.processes[index] = next;
    await waitFor(next, "/readyz to answer ok after the restart", async () => (await get(`${this.server}/readyz`, this.tls)).status === 200);
    return Math.round(performance.now() - t0);
  }

  static async start(options: ControlPlaneOptions = {}): Promise<ControlPlane> {
    const controllers = options.controllers ?? false;
    const bins = binDir(controllers ? ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"] : ["etcd", "kube-apiserver"]);
    const progress = options.onProgress ?? (() => {});
    const ownsDir = options.dir === undefined;
    const dir = options.dir ?? (await mkdtemp(join(tmpdir(), "tcp-tuning-cp-")));
    await mkdir(dir, { recursive: true });
    const processes: ProcessGroup[] = [];
    const t0 = performance.now();
    try {
      const pki = await createPki(dir);
      const tPki = performance.now();
      const [etcdClient, etcdPeer, apiPort, kcmPort, schedPort] = await freePorts(5);
      if (etcdClient === undefined || etcdPeer === undefined || apiPort === undefined || kcmPort === undefined || schedPort === undefined)
        throw new Error("could not allocate ports");
      const server = `https://127.0.0.1:${apiPort}`;
      const tls: Tls = {
        ca: await readFile(pki.ca.certFile),
        cert: await readFile(pki.admin.certFile),
        key: await readFile(pki.admin.keyFile),
      };

      const etcdUrl = `http://127.0.0.1:${etcdClient}`;
      progress(`starting etcd on ${etcdUrl}`);
      const etcd = new ProcessGroup({
        name: "etcd",
        command: join(bins, "etcd"),
        logFile: join(dir, "etcd.log"),
        args: [
          "--name=default",
          `--data-dir=${join(dir, "etcd")}`,
          `--listen-client-urls=${etcdUrl}`,
          `--advertise-client-urls=${etcdUrl}`,
          `--listen-peer-urls=http://127.0.0.1:${etcdPeer}`,
          `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeer}`,
          `--initial-cluster=default=http://127.0.0.1:${etcdPeer}`,
          "--unsafe-no-fsync",
          "--log-level=warn",
        ],
      });
      processes.push(etcd);
      await waitFor(etcd, "/health to say healthy", async () => {
        const res = await get(`${etcdUrl}/health`);
        return res.status === 200 && res.body.includes('"health":"true"');
      });
      const tEtcd = performance.now();

      progress(`starting kube-apiserver on ${server}`);
      const apiserver = new ProcessGroup({
        name: "kube-apiserver",
        command: join(bins, "kube-apiserver"),
        logFile: join(dir, "kube-apiserver.log"),
        args: [
          `--etcd-servers=${etcdUrl}`,
          `--cert-dir=${join(dir, "apiserver")}`,
          `--tls-cert-file=${pki.serving.certFile}`,
          `--tls-private-key-file=${pki.serving.keyFile}`,
          `--client-ca-file=${pki.ca.certFile}`,
          `--secure-port=${apiPort}`,
          "--bind-address=127.0.0.1",
          "--advertise-address=127.0.0.1",
          "--endpoint-reconciler-type=none",
          "--service-cluster-ip-range=10.0.0.0/24",
          "--allow-privileged=true",
          "--disable-admission-plugins=ServiceAccount",
          "--authorization-mode=RBAC",
          `--service-account-issuer=${server}`,
          `--service-account-key-file=${pki.serviceAccount.publicKeyFile}`,
          `--service-account-signing-key-file=${pki.serviceAccount.keyFile}`,
          ...(options.apiserverArgs ?? []),
        ],
      });
      processes.push(apiserver);
      await waitFor(apiserver, "/readyz to answer ok", async () => {
        const res = await get(`${server}/readyz`, tls);
        return res.status === 200;
      });
      // Namespaces like "default" are made by a loop that /readyz does not wait for.
      await waitFor(apiserver, "the default namespace", async () => (await get(`${server}/api/v1/namespaces/default`, tls)).status === 200);
      const tApi = performance.now();

      const kubeconfigPath = join(dir, "kubeconfig");
      await writeFile(kubeconfigPath, kubeconfigYaml(server, tls));

      let tControllers: number | undefined;
      if (controllers) {
        progress("starting kube-controller-manager and kube-scheduler");
        // What both controllers need alike: the admin kubeconfig for everything, a loopback secure port
        // with its own self-signed serving cert, and no leader election (one of each).
        const controllerArgs = (port: number, certDir: string): string[] => [
          `--kubeconfig=${kubeconfigPath}`,
          `--authentication-kubeconfig=${kubeconfigPath}`,
          `--authorization-kubeconfig=${kubeconfigPath}`,
          `--secure-port=${port}`,
          "--bind-address=127.0.0.1",
          `--cert-dir=${join(dir, certDir)}`,
          "--leader-elect=false",
        ];
        const kcm = new ProcessGroup({
          name: "kube-controller-manager",
          command: join(bins, "kube-controller-manager"),
          logFile: join(dir, "kube-controller-manager.log"),
          args: [
            ...controllerArgs(kcmPort, "kcm"),
            `--service-account-private-key-file=${pki.serviceAccount.keyFile}`,
            `--root-ca-file=${pki.ca.certFile}`,
            `--cluster-signing-cert-file=${pki.ca.certFile}`,
            `--cluster-signing-key-file=${pki.ca.keyFile}`,
            "--service-cluster-ip-range=10.0.0.0/24",
          ],
        });
        processes.push(kcm);
        const scheduler = new ProcessGroup({
          name: "kube-scheduler",
          command: join(bins, "kube-scheduler"),
          logFile: join(dir, "kube-scheduler.log"),
          args: controllerArgs(schedPort, "scheduler"),
        });
        processes.push(scheduler);
        await Promise.all([
          waitFor(kcm, "/healthz to answer ok", async () => (await get(`https://127.0.0.1:${kcmPort}/healthz`, tls, true)).status === 200),
          waitFor(scheduler, "/readyz to answer ok", async () => (await get(`https://127.0.0.1:${schedPort}/readyz`, tls, true)).status === 200),
        ]);
        tControllers = performance.now();
      }

      const timings: StartTimings = {
        pki: Math.round(tPki - t0),
        etcd: Math.round(tEtcd - tPki),
        apiserver: Math.round(tApi - tEtcd),
        ...(tControllers !== undefined ? { controllers: Math.round(tControllers - tApi) } : {}),
        total: Math.round((tControllers ?? tApi) - t0),
      };
      progress(`control plane ready in ${timings.total} ms`);
      return new ControlPlane(dir, server, kubeconfigPath, pki, timings, processes, ownsDir, tls);
    } catch (err) {
      await stopAll(processes);
      if (ownsDir && process.env["TCP_TUNING_KEEP_CONTROL_PLANE"] !== "1") await rm(dir, { recursive: true, force: true });
      throw err;
    }
  }

  /** Stops every process (controllers first, etcd last) and removes the folder if it made it. */
  async stop(): Promise<void> {
    await stopAll(this.processes);
    if (this.ownsDir && process.env["TCP_TUNING_KEEP_CONTROL_PLANE"] !== "1") await rm(this.dir, { recursive: true, force: true });
  }
}

async function stopAll(processes: readonly ProcessGroup[]): Promise<void> {
  const etcd = processes.filter((p) => p.name === "etcd");
  await Promise.all(processes.filter((p) => p.name !== "etcd").map((p) => p.stop()));
  await Promise.all(etcd.map((p) => p.stop()));
}

/** Polls `ready` until it says true; fails early with the process's last lines if it exits. */
async function waitFor(proc: ProcessGroup, what: string, ready: () => Promise<boolean>): Promise<void> {
  const deadline = performance.now() + READY_LIMIT_MS;
  let lastError: string;
  for (;;) {
    if (proc.exitDescription()) throw proc.failure(`stopped before ${what}`);
    try {
      if (await ready()) return;
      lastError = "";
    } catch (err) {
      lastError = (err as Error).message;
    }
    if (performance.now() > deadline) {
      throw proc.failure(`not ready after ${READY_LIMIT_MS / 1000} s waiting for ${what}${lastError ? ` (last error: ${lastError})` : ""}`);
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

interface HttpResult {
  readonly status: number;
  readonly body: string;
}

/** GET over plain HTTP (etcd), or with the admin client cert over HTTPS; `selfSigned` for components that serve their own cert. */
function get(url: string, tls?: Tls, selfSigned = false): Promise<HttpResult> {
  return new Promise((resolvePromise, reject) => {
    const onResponse = (res: IncomingMessage): void => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () => resolvePromise({ status: res.statusCode ?? 0, body }));
    };
    const req = tls
      ? request(url, { ca: tls.ca, cert: tls.cert, key: tls.key, rejectUnauthorized: !selfSigned, timeout: 5000 }, onResponse)
      : httpRequest(url, { timeout: 5000 }, onResponse);
    req.on("timeout", () => req.destroy(new Error(`GET ${url} timed out`)));
    req.on("error", reject);
    req.end();
  });
}

function kubeconfigYaml(server: string, tls: Tls): string {
  return stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: "local", cluster: { server, "certificate-authority-data": tls.ca.toString("base64") } }],
    users: [
      {
        name: "admin",
        user: { "client-certificate-data": tls.cert.toString("base64"), "client-key-data": tls.key.toString("base64") },
      },
    ],
    contexts: [{ name: "local", context: { cluster: "local", user: "admin" } }],
    "current-context": "local",
  });
}
