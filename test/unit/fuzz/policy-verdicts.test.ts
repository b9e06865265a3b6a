import { Agent, request } from "node:https";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { stringify } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCa, issueServingCert } from "../../../src/certs/certificates.js";
import { buildCheckReport } from "../../../src/cli/check.js";
import type { CliIo } from "../../../src/cli/io.js";
import { createLogger } from "../../../src/log.js";
import { catalogNames, evaluatePolicy } from "../../../src/rules/index.js";
import { nodeListSnapshot } from "../../../src/webhook/admission.js";
import { WebhookServer } from "../../../src/webhook/server.js";
import { SOAK_FACTOR } from "../../support/soak.js";
import { linuxNode, policyReview, preparedNodes } from "../webhook/support/reviews.js";

/**
 * Fuzzing (issue 14): generated policies through the offline checker (`tcp-tuning check`, in
 * process, the policy as YAML on stdin) and the same policies as AdmissionReviews through the real
 * HTTPS webhook server. Neither crashes nor hangs, both give the same verdict, and every denial names
 * a rule, a sysctl and a message. fast-check, seed recorded, 10,000 runs.
 */

const SEED = 1407;
const RUNS = 10_000 * SOAK_FACTOR;

const NODES = [
  linuxNode("old", "4.4.0-210-generic", { "tcptuning.io/nat": "inbound", pool: "a" }),
  linuxNode("mid", "5.4.0-150-generic", { pool: "a" }),
  linuxNode("new", "6.8.0-45-generic", { pool: "b" }),
];
const fleet = preparedNodes(NODES);
const snapshot = nodeListSnapshot(fleet);

const life = { validityMs: 3600_000, backdateMs: 60_000 };
const ca = await createCa(new Date(), life);
const server = new WebhookServer({
  tls: await issueServingCert(ca, { dnsNames: ["webhook.test.svc"], ipAddresses: ["127.0.0.1"] }, new Date(), life),
  snapshot: () => snapshot,
  ready: () => true,
  logger: createLogger("test", { level: "silent", pretty: false }),
});
const agent = new Agent({ keepAlive: true, maxSockets: 4, ca: ca.certPem });
let port = 0;
let dir = "";
let nodesFile = "";

beforeAll(async () => {
  port = (await server.listen(0, "127.0.0.1")).port;
  dir = await mkdtemp(join(tmpdir(), "tt-fuzz-"));
  nodesFile = join(dir, "nodes.yaml");
  await writeFile(nodesFile, stringify({ apiVersion: "v1", kind: "List", items: NODES }));
});
afterAll(async () => {
  agent.destroy();
  await server.close(500);
  await rm(dir, { recursive: true, force: true });
});

const names = catalogNames();
const sysctlName = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...names) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      "kernel.core_pattern",
      "net.ipv4.conf.all.forwarding",
      "net/ipv4/../../kernel/core_pattern",
      "vm.swappiness",
      "net.ipv4.tcp_tw_reuse ",
      "",
    ),
  },
  { weight: 1, arbitrary: fc.stringMatching(/^net\.(ipv4|core|netfilter)\.[a-z_]{1,30}$/) },
);
const value = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: -2, max: 70000 }).map(String) },
  { weight: 2, arbitrary: fc.tuple(fc.integer({ min: 0, max: 70000 }), fc.integer({ min: 0, max: 70000 })).map(([a, b]) => `${a} ${b}`) },
  { weight: 1, arbitrary: fc.tuple(fc.nat(), fc.nat(), fc.nat()).map(([a, b, c]) => `${a} ${b} ${c}`) },
  { weight: 1, arbitrary: fc.string({ maxLength: 20 }) },
);
const entry = fc.record({ name: sysctlName, value });
const policyArb = fc.record({
  name: fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/),
  sysctls: fc.array(entry, { minLength: 0, maxLength: 6 }),
  mode: fc.constantFrom(undefined, "Enforce", "DryRun"),
  selector: fc.constantFrom(undefined, { matchLabels: { pool: "a" } }, { matchLabels: { pool: "b" } }, { matchLabels: { pool: "none" } }),
  priority: fc.constantFrom(undefined, 0, 10),
});

type GeneratedPolicy = typeof policyArb extends fc.Arbitrary<infer T> ? T : never;

function policyObject(p: GeneratedPolicy): Record<string, unknown> {
  const spec: Record<string, unknown> = { sysctls: p.sysctls };
  if (p.mode) spec["mode"] = p.mode;
  if (p.selector) spec["nodeSelector"] = p.selector;
  if (p.priority !== undefined) spec["priority"] = p.priority;
  return { apiVersion: "tcptuning.io/v1alpha1", kind: "TcpTuningPolicy", metadata: { name: p.name }, spec };
}

async function checkerVerdict(doc: Record<string, unknown>): Promise<{ denied: boolean; inputError: boolean }> {
  const text = stringify(doc);
  const io: CliIo = { stdout: { write: () => undefined }, stderr: { write: () => undefined }, readStdin: async () => text, env: {}, cwd: dir };
  const report = await buildCheckReport({ inputs: ["-"], nodesFile, output: "json", defaultPlacement: undefined } as never, io);
  if (report.errors.length > 0) return { denied: true, inputError: true };
  const p = report.policies[0];
  if (!p) throw new Error("the checker judged no policy");
  return { denied: p.verdict === "denied" && p.mode !== "DryRun", inputError: false };
}

function webhookVerdict(doc: Record<string, unknown>): Promise<{ status: number; allowed: boolean; message: string }> {
  return post(JSON.stringify(policyReview(doc))).then(({ status, text }) => {
    const r = (JSON.parse(text) as { response: { allowed: boolean; status?: { message?: string } } }).response;
    return { status, allowed: r.allowed, message: r.status?.message ?? "" };
  });
}

function post(body: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: "127.0.0.1", port, method: "POST", path: "/validate", agent, headers: { "content-type": "application/json" }, timeout: 20_000 },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (text += c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on("timeout", () => req.destroy(new Error("webhook did not answer within 20 s")));
    req.on("error", reject);
    req.end(body);
  });
}

describe(`fuzzing the checker and the webhook with the same policies (seed ${SEED}, ${RUNS} runs)`, () => {
  it(
    "never crashes or hangs, gives the same verdict from both, and every denial names a rule, a sysctl and a message",
    async () => {
      const tally = { runs: 0, denied: 0, allowed: 0, inputErrors: 0 };
      await fc.assert(
        fc.asyncProperty(policyArb, async (p) => {
          const doc = policyObject(p);
          const [checker, webhook] = await Promise.all([checkerVerdict(doc), webhookVerdict(doc)]);
          tally.runs++;
          if (checker.inputError) tally.inputErrors++;
          else if (checker.denied) tally.denied++;
          else tally.allowed++;
          expect(webhook.status).toBe(200);
          expect({ denied: !webhook.allowed }).toEqual({ denied: checker.denied });
          if (!webhook.allowed) expect(webhook.message).not.toBe("");
          // Every deny finding of the engine (as both call it) names its rule, sysctl and message.
          const report = evaluatePolicy(doc, fleet);
          for (const f of [...report.findings, ...report.nodes.flatMap((n) => n.findings)].filter((x) => x.severity === "deny")) {
            expect(f.rule).toMatch(/^TT\d{3}$/);
            expect(f.message).not.toBe("");
            if (report.findings.includes(f) && f.sysctl === undefined) expect(f.rule).toMatch(/^TT00\d$/);
            else expect(typeof f.sysctl).toBe("string"); // the entry's name as written ("" for an empty one)
          }
        }),
        { seed: SEED, numRuns: RUNS, endOnFailure: true },
      );
      process.stderr.write(`policy fuzz (seed ${SEED}): ${JSON.stringify(tally)}\n`);
      expect(tally.runs).toBe(RUNS);
      expect(tally.denied).toBeGreaterThan(RUNS / 10);
      expect(tally.allowed).toBeGreaterThan(RUNS / 20);
    },
    600_000 * SOAK_FACTOR,
  );

  it(
    `answers ${RUNS} generated AdmissionReview envelopes (seed ${SEED + 1}) with a review or a 400 that says why, never a 500 or silence`,
    async () => {
      const tally: Record<string, number> = {};
      const json = fc.jsonValue({ maxDepth: 3 });
      const or = <T>(likely: fc.Arbitrary<T>): fc.Arbitrary<T | fc.JsonValue> => fc.oneof({ weight: 9, arbitrary: likely }, { weight: 1, arbitrary: json });
      const request = fc.record({
        uid: or(fc.uuid()),
        kind: or(fc.constant({ group: "tcptuning.io", version: "v1alpha1", kind: "TcpTuningPolicy" })),
        resource: or(fc.constant({ group: "tcptuning.io", version: "v1alpha1", resource: "tcptuningpolicies" })),
        subResource: fc.oneof(
          { weight: 8, arbitrary: fc.constant(undefined) },
          { weight: 1, arbitrary: fc.constant("status") },
          { weight: 1, arbitrary: json },
        ),
        operation: or(fc.constantFrom("CREATE", "CREATE", "UPDATE", "DELETE", "CONNECT")),
        object: or(policyArb.map(policyObject)),
        oldObject: fc.oneof(fc.constant(undefined), policyArb.map(policyObject), json),
        userInfo: or(fc.constant({ username: "alice" })),
      });
      const envelope = fc.record({
        apiVersion: fc.oneof({ weight: 9, arbitrary: fc.constant("admission.k8s.io/v1") }, { weight: 1, arbitrary: json }),
        kind: fc.oneof({ weight: 9, arbitrary: fc.constant("AdmissionReview") }, { weight: 1, arbitrary: json }),
        request: fc.oneof({ weight: 9, arbitrary: request }, { weight: 1, arbitrary: json }),
      });
      await fc.assert(
        fc.asyncProperty(envelope, async (review) => {
          const { status, text } = await post(JSON.stringify(review));
          tally[String(status)] = (tally[String(status)] ?? 0) + 1;
          expect([200, 400]).toContain(status);
          if (status === 400) expect((JSON.parse(text) as { message: string }).message).not.toBe("");
          else {
            const r = (JSON.parse(text) as { response: { uid: string; allowed: boolean; status?: { message?: string } } }).response;
            expect(r.uid).toBe((review.request as { uid: string }).uid);
            if (!r.allowed) expect(r.status?.message ?? "").not.toBe("");
          }
        }),
        { seed: SEED + 1, numRuns: RUNS, endOnFailure: true },
      );
      process.stderr.write(`review fuzz (seed ${SEED + 1}): ${JSON.stringify(tally)}\n`);
      expect(Object.keys(tally).sort()).toEqual(["200", "400"]);
    },
    600_000 * SOAK_FACTOR,
  );
});
