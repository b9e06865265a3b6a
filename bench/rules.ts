/**
 * `npm run bench:rules`: how many (policy, node) evaluations the rule engine does per second on one
 * core, for 1,000 policies x 5,000 nodes with a realistic mix of kernels, placements, selectors and
 * sysctls (good and bad). Nodes and policies are prepared once, as the webhook and the controller do;
 * the timed part is evaluatePrepared over every pair. A script, not a test: it prints figures.
 *
 *   npm run bench:rules [-- --policies 1000 --nodes 5000 --rounds 3 --seed 1]
 */
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import { dirname } from "node:path";
import { parseArgs } from "node:util";
import { classifyNodes, evaluateByClass, evaluatePrepared, preparePolicy, prepareNode, type PreparedNode, type PreparedPolicy } from "../src/rules/index.js";
import { syntheticFleet } from "./support/fleet.js";

const { values } = parseArgs({
  options: {
    policies: { type: "string", default: "1000" },
    nodes: { type: "string", default: "5000" },
    rounds: { type: "string", default: "3" },
    seed: { type: "string", default: "1" },
    json: { type: "string", default: "bench/results/rules.json" },
  },
});
const POLICIES = Number(values.policies);
const NODES = Number(values.nodes);
const ROUNDS = Math.max(1, Number(values.rounds));

const { makeNode, makePolicy } = syntheticFleet(Number(values.seed));

interface Pass {
  readonly ms: number;
  readonly matched: number;
  readonly findings: number;
  readonly denied: number;
}

function pass(policies: readonly PreparedPolicy[], nodes: readonly PreparedNode[]): Pass {
  let matched = 0;
  let findings = 0;
  let denied = 0;
  const start = process.hrtime.bigint();
  for (const policy of policies) {
    const report = evaluatePrepared(policy, nodes);
    matched += report.nodes.length;
    findings += report.findings.length;
    for (const n of report.nodes) findings += n.findings.length;
    if (report.verdict === "denied") denied++;
  }
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  return { ms, matched, findings, denied };
}

const prepStart = process.hrtime.bigint();
const nodes = Array.from({ length: NODES }, (_, i) => prepareNode(makeNode(i)));
const policies = Array.from({ length: POLICIES }, (_, i) => preparePolicy(makePolicy(i)));
const prepMs = Number(process.hrtime.bigint() - prepStart) / 1e6;

// Warm-up: let the JIT settle on a slice of the work before timing.
pass(policies.slice(0, Math.max(1, Math.floor(POLICIES / 10))), nodes);

const passes: Pass[] = [];
for (let r = 0; r < ROUNDS; r++) passes.push(pass(policies, nodes));
// The same work by class of equal node facts, as the webhook and the CLI judge: selection is still a
// scan here (the webhook's label index is measured by bench/webhook.ts).
const table = classifyNodes(nodes);
function classPass(): Pass {
  let matched = 0;
  let denied = 0;
  const start = process.hrtime.bigint();
  for (const policy of policies) {
    const report = evaluateByClass(policy, table);
    for (const c of report.classes) matched += c.nodes.length;
    if (report.verdict === "denied") denied++;
  }
  return { ms: Number(process.hrtime.bigint() - start) / 1e6, matched, findings: 0, denied };
}
classPass();
const classPasses: Pass[] = [];
for (let r = 0; r < ROUNDS; r++) classPasses.push(classPass());
const classMedian = [...classPasses].sort((a, b) => a.ms - b.ms)[Math.floor(classPasses.length / 2)] as Pass;
if (classMedian.matched !== median0().matched || classMedian.denied !== median0().denied)
  throw new Error("the class-aware pass disagrees with the per-node pass");
function median0(): Pass {
  return [...passes].sort((a, b) => a.ms - b.ms)[Math.floor(passes.length / 2)] as Pass;
}

const sorted = [...passes].sort((a, b) => a.ms - b.ms);
const median = sorted[Math.floor(sorted.length / 2)] as Pass;
const best = sorted[0] as Pass;
const pairs = POLICIES * NODES;
const perSecond = (p: Pass) => Math.round(pairs / (p.ms / 1000));
const fmt = (n: number) => n.toLocaleString("en-US");

const cpu = os.cpus()[0]?.model ?? "unknown CPU";
const lines = [
  `rule engine benchmark (bench/rules.ts): evaluatePrepared over every (policy, node) pair, one thread`,
  `node ${process.version} on ${os.platform()}/${os.arch()}, ${cpu} (${os.cpus().length} logical CPUs on the machine)`,
  `fleet: ${fmt(NODES)} nodes (${fmt(nodes.filter((n) => !n.linux).length)} not Linux), ${fmt(POLICIES)} policies, ${fmt(pairs)} pairs; prepared once in ${prepMs.toFixed(0)} ms`,
  `per pass: ${fmt(median.matched)} pairs matched by a selector and judged, ${fmt(median.findings)} findings, ${fmt(median.denied)} policies denied`,
  `passes (ms): ${passes.map((p) => p.ms.toFixed(0)).join(", ")}`,
  `median: ${median.ms.toFixed(0)} ms = ${fmt(perSecond(median))} (policy, node) evaluations/s; best ${fmt(perSecond(best))}/s`,
  `target >= 1,000,000/s: ${perSecond(median) >= 1_000_000 ? "met" : "NOT met"}`,
  `by class (${fmt(table.classes.length)} classes of equal node facts): median ${classMedian.ms.toFixed(0)} ms = ${fmt(perSecond(classMedian))} (policy, node) verdicts/s, ${(median.ms / classMedian.ms).toFixed(1)}x the per-node pass`,
];
process.stdout.write(`${lines.join("\n")}\n`);
mkdirSync(dirname(values.json), { recursive: true });
writeFileSync(
  values.json,
  `${JSON.stringify({ bench: "rules", node: process.version, cpu, nodes: NODES, policies: POLICIES, classes: table.classes.length, perNode: { passesMs: passes.map((p) => p.ms), perSecond: perSecond(median) }, byClass: { passesMs: classPasses.map((p) => p.ms), perSecond: perSecond(classMedian) } }, null, 2)}\n`,
);
