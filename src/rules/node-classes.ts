import { checkPolicyAlone, judgeOnNode, nodeRulesFor, type NodeReport, type NodeVerdict, type PolicyReport, type PolicyVerdict } from "./engine.js";
import type { Finding } from "./finding.js";
import type { PreparedNode } from "./node-facts.js";
import type { PreparedPolicy } from "./prepared-policy.js";

/**
 * Judging classes of equal nodes once.
 *
 * A fleet of 5,000 nodes holds a few dozen distinct (OS, kernel, probe, placement) combinations, and
 * those are all the node rules read: a rule's verdict on a node never depends on its name or on labels
 * other than the placement they declare. So the engine judges one stand-in per class, with a token in
 * place of the node's name, and names the class's nodes afterwards: the cost of judging grows with the
 * number of classes, not of nodes. `expandClassReport` turns a class report back into the per-node
 * PolicyReport that `evaluatePrepared` gives for the same nodes, finding for finding (a property test
 * holds the two paths equal on generated fleets).
 */

/** Stands for the node's name while a class is judged; per process, so no input can forge it. */
const NODE_TOKEN = `\u0000node-${globalThis.crypto.randomUUID()}\u0000`;
const NO_LABELS: Readonly<Record<string, string>> = Object.freeze({});

/**
 * The facts the node rules read, as one string: equal keys, equal verdicts and findings (up to the
 * node's name). The probe's keys are sorted: rules look keys up, they never iterate the probe.
 */
export function nodeClassKey(node: PreparedNode): string {
  const probed = node.probed ? [...node.probed].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => [k, v === undefined ? 0 : v]) : null;
  const p = node.placement;
  return JSON.stringify([node.os, node.linux, node.kernelText, node.kernel ?? null, p.nat, p.loadBalancer, p.timestamps, p.invalidLabels, probed]);
}

/** A class's shared facts: a member with its name replaced by the token and its labels dropped. */
export function classFacts(node: PreparedNode): PreparedNode {
  return { ...node, name: NODE_TOKEN, labels: NO_LABELS };
}

/** The nodes a policy selects in one class, with the class's facts. */
export interface ClassMembers {
  readonly facts: PreparedNode;
  /** Node names, in the caller's order. */
  readonly nodes: readonly string[];
  /** Each node's position in the caller's node list: lets expandClassReport restore the per-node order. */
  readonly positions?: readonly number[];
}

/** A finding of a class, to be named for each of its nodes. */
export interface ClassFinding {
  /** The finding as the stand-in got it (node and message carry the token when they name the node). */
  readonly finding: Finding;
  /** The message cut at the token, when it names the node. */
  readonly parts: readonly string[] | undefined;
}

/** The judgement of one class: the same for each of its nodes. */
export interface ClassVerdict {
  readonly nodes: readonly string[];
  readonly positions?: readonly number[];
  readonly verdict: NodeVerdict;
  readonly reason?: string;
  readonly findings: readonly ClassFinding[];
}

export interface ClassReport {
  readonly name: string;
  readonly verdict: PolicyVerdict;
  /** Policy-level findings. */
  readonly findings: readonly Finding[];
  /** Classes with at least one selected node. */
  readonly classes: readonly ClassVerdict[];
  readonly nodeChecks: boolean;
}

/** One node's copy of a class finding: exactly what the per-node path reports for that node. */
export function findingFor(cf: ClassFinding, node: string): Finding {
  const f = cf.finding;
  if (f.node === undefined) return f;
  // Same keys in the same order as the engine's collector, so JSON output is byte for byte the same.
  const out: { -readonly [K in keyof Finding]: Finding[K] } = {
    rule: f.rule,
    severity: f.severity,
    message: cf.parts ? cf.parts.join(node) : f.message,
    reference: f.reference,
  };
  if (f.sysctl !== undefined) out.sysctl = f.sysctl;
  if (f.value !== undefined) out.value = f.value;
  if (f.index !== undefined) out.index = f.index;
  out.node = node;
  return out;
}

function classFinding(f: Finding): ClassFinding {
  return { finding: f, parts: f.message.includes(NODE_TOKEN) ? f.message.split(NODE_TOKEN) : undefined };
}

/**
 * Judges a policy on classes of nodes, each class once. `classes` are the selected members (from
 * `selectClasses` or an index that selects by labels); omit them for policy-level checks only.
 */
export function evaluateClasses(policy: PreparedPolicy, classes?: readonly ClassMembers[]): ClassReport {
  const findings = checkPolicyAlone(policy);
  let denied = findings.some((f) => f.severity === "deny");
  const verdicts: ClassVerdict[] = [];
  if (classes && policy.spec !== undefined) {
    const nodeRules = nodeRulesFor(policy);
    for (const c of classes) {
      if (c.nodes.length === 0) continue;
      const r = judgeOnNode(policy, c.facts, nodeRules);
      if (r.verdict === "denied") denied = true;
      const v: { -readonly [K in keyof ClassVerdict]: ClassVerdict[K] } = { nodes: c.nodes, verdict: r.verdict, findings: r.findings.map(classFinding) };
      if (c.positions) v.positions = c.positions;
      if (r.reason !== undefined) v.reason = r.reason;
      verdicts.push(v);
    }
  }
  return { name: policy.name, verdict: denied ? "denied" : "allowed", findings, classes: verdicts, nodeChecks: classes !== undefined };
}

/** Nodes grouped into classes once, to be selected from by any number of policies. */
export interface NodeClassTable {
  readonly nodes: readonly PreparedNode[];
  /** Class facts, by class number. */
  readonly classes: readonly PreparedNode[];
  /** Class number of each node, by the node's position. */
  readonly classOf: readonly number[];
}

export function classifyNodes(nodes: readonly PreparedNode[]): NodeClassTable {
  const byKey = new Map<string, number>();
  const classes: PreparedNode[] = [];
  const classOf = nodes.map((n) => {
    const key = nodeClassKey(n);
    let c = byKey.get(key);
    if (c === undefined) {
      c = classes.length;
      byKey.set(key, c);
      classes.push(classFacts(n));
    }
    return c;
  });
  return { nodes, classes, classOf };
}

/** The table's nodes the policy's selector picks, grouped by class (classes in order of first node). */
export function selectClasses(policy: PreparedPolicy, table: NodeClassTable): ClassMembers[] {
  const members = new Map<number, { facts: PreparedNode; nodes: string[]; positions: number[] }>();
  if (policy.spec === undefined) return [];
  const matches = policy.matches;
  table.nodes.forEach((node, i) => {
    if (!matches(node.labels)) return;
    const c = table.classOf[i] as number;
    let m = members.get(c);
    if (!m) {
      m = { facts: table.classes[c] as PreparedNode, nodes: [], positions: [] };
      members.set(c, m);
    }
    m.nodes.push(node.name);
    m.positions.push(i);
  });
  return [...members.values()];
}

/** The class-aware judgement of a policy on prepared nodes, as a class report. */
export function evaluateByClass(policy: PreparedPolicy, table?: NodeClassTable): ClassReport {
  return evaluateClasses(policy, table && selectClasses(policy, table));
}

/** The per-node report of a class report: every node of every class, in position order when known. */
export function expandClassReport(report: ClassReport): PolicyReport {
  const rows: { position: number; report: NodeReport }[] = [];
  let seq = 0;
  for (const c of report.classes) {
    c.nodes.forEach((node, i) => {
      const r: NodeReport =
        c.reason !== undefined
          ? { node, verdict: c.verdict, reason: c.reason, findings: c.findings.map((f) => findingFor(f, node)) }
          : { node, verdict: c.verdict, findings: c.findings.map((f) => findingFor(f, node)) };
      rows.push({ position: c.positions?.[i] ?? seq, report: r });
      seq++;
    });
  }
  rows.sort((a, b) => a.position - b.position);
  return { name: report.name, verdict: report.verdict, findings: report.findings, nodes: rows.map((r) => r.report), nodeChecks: report.nodeChecks };
}
