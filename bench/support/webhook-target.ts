/**
 * A benchmark target process: `tsx bench/support/webhook-target.ts webhook|noop --nodes N --cert DIR`.
 * - webhook: the real WebhookServer (metrics on) with N synthetic nodes fed into its NodeIndex, as the
 *   informers would; no API server, so the figures are the webhook's own.
 * - noop: an HTTPS AdmissionReview server on the same TLS settings that allows everything after
 *   parsing the body: the floor any webhook pays (TLS, HTTP, JSON).
 * Prints one JSON line {"port": P} on stdout when listening; stops on SIGTERM. `--prof` is node's.
 */
import { readFileSync } from "node:fs";
import { createServer } from "node:https";
import { parseArgs } from "node:util";
import { createLogger } from "../../src/log.js";
import { componentRegistry, WebhookMetrics } from "../../src/metrics/index.js";
import { NodeIndex } from "../../src/webhook/node-index.js";
import { WebhookServer } from "../../src/webhook/server.js";
import { syntheticFleet } from "./fleet.js";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    nodes: { type: "string", default: "5000" },
    prototypes: { type: "string", default: "0" },
    cert: { type: "string" },
    seed: { type: "string", default: "1" },
  },
});
const kind = positionals[0];
const certPem = readFileSync(`${values.cert}/tls.crt`, "utf8");
const keyPem = readFileSync(`${values.cert}/tls.key`, "utf8");

function nodeObject(input: ReturnType<ReturnType<typeof syntheticFleet>["makeNode"]>): unknown {
  return {
    metadata: { name: input.name, labels: input.labels },
    status: { nodeInfo: { kernelVersion: input.kernelVersion, operatingSystem: input.operatingSystem } },
  };
}

async function main(): Promise<void> {
  if (kind === "webhook") {
    const index = new NodeIndex();
    const { makeNode } = syntheticFleet(Number(values.seed));
    // With --prototypes K, node i has the kernel, OS and labels of prototype i mod K (its own name and
    // hostname label): a fleet of at most K classes, as real fleets are (a few kernels and placements).
    // Without, every node is drawn afresh: classes grow with the fleet (up to a few hundred).
    const k = Number(values.prototypes);
    const prototypes = k > 0 ? Array.from({ length: k }, (_, i) => makeNode(i)) : [];
    for (let i = 0; i < Number(values.nodes); i++) {
      const proto = prototypes[i % k];
      const node = proto ? { ...proto, name: `node-${i}`, labels: { ...proto.labels, "kubernetes.io/hostname": `node-${i}` } } : makeNode(i);
      index.upsertNode(nodeObject(node));
    }
    const metrics = new WebhookMetrics(componentRegistry("webhook"), { cache: index });
    const server = new WebhookServer({
      tls: { certPem, keyPem },
      snapshot: () => ({ synced: true, select: (policy) => index.select(policy) }),
      ready: () => true,
      logger: createLogger("bench-webhook", { level: "warn", pretty: false }),
      metrics,
    });
    const { port } = await server.listen(0, "127.0.0.1");
    process.stdout.write(`${JSON.stringify({ port, nodes: index.size, classes: index.classCount })}\n`);
    process.once("SIGTERM", () => void server.close(100).then(() => process.exit(0)));
    return;
  }
  if (kind === "noop") {
    const server = createServer({ cert: certPem, key: keyPem, minVersion: "TLSv1.2" }, (req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const review = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { request?: { uid?: string } };
        const body = JSON.stringify({
          apiVersion: "admission.k8s.io/v1",
          kind: "AdmissionReview",
          response: { uid: review.request?.uid ?? "", allowed: true },
        });
        res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
        res.end(body);
      });
    });
    server.keepAliveTimeout = 120_000;
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const address = server.address();
    process.stdout.write(`${JSON.stringify({ port: typeof address === "object" && address ? address.port : 0 })}\n`);
    process.once("SIGTERM", () => server.close(() => process.exit(0)));
    return;
  }
  throw new Error(`unknown target ${kind ?? ""}: webhook or noop`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
