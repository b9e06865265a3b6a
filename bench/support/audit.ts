import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";

/**
 * Who sent which request, from the kube-apiserver's own audit log: apiserver_request_total has no
 * user label, so a benchmark that must tell one client's requests from another's (the controller's
 * from the benchmark's own) runs the apiserver with an audit policy at Metadata level and reads the
 * log back. The apiserver's requests to itself (system:apiserver) are left out of the log.
 */

const POLICY = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
  - level: None
    users: ["system:apiserver"]
  - level: Metadata
`;

/** kube-apiserver flags that write the audit log into DIR/audit.log (one JSON event per line). */
export function auditArgs(dir: string): string[] {
  const policy = join(dir, "audit-policy.yaml");
  writeFileSync(policy, POLICY);
  return [`--audit-policy-file=${policy}`, `--audit-log-path=${join(dir, "audit.log")}`, "--audit-log-format=json", "--audit-log-maxsize=0"];
}

const eventSchema = z.object({
  auditID: z.string(),
  verb: z.string(),
  user: z.object({ username: z.string().optional() }).optional(),
  objectRef: z.object({ resource: z.string().optional(), subresource: z.string().optional() }).optional(),
  requestReceivedTimestamp: z.string(),
});

export interface AuditedRequest {
  readonly user: string;
  readonly verb: string;
  /** resource[/subresource], or the path's kind for non-resource requests ("" then). */
  readonly resource: string;
  /** Epoch ms when the apiserver received it. */
  readonly at: number;
}

/** Every request in the log, once each (a watch logs ResponseStarted and ResponseComplete). */
export function readAudit(dir: string): AuditedRequest[] {
  let text: string;
  try {
    text = readFileSync(join(dir, "audit.log"), "utf8");
  } catch {
    return [];
  }
  const seen = new Set<string>();
  const out: AuditedRequest[] = [];
  for (const line of text.split("\n")) {
    if (!line.startsWith("{")) continue;
    const parsed = eventSchema.safeParse(JSON.parse(line));
    if (!parsed.success || seen.has(parsed.data.auditID)) continue;
    const e = parsed.data;
    seen.add(e.auditID);
    const resource = e.objectRef?.resource ? `${e.objectRef.resource}${e.objectRef.subresource ? `/${e.objectRef.subresource}` : ""}` : "";
    out.push({ user: e.user?.username ?? "", verb: e.verb, resource, at: Date.parse(e.requestReceivedTimestamp) });
  }
  return out;
}

/** Requests of `user` received in [fromMs, toMs), counted by "verb resource". */
export function countRequests(requests: readonly AuditedRequest[], user: string, fromMs: number, toMs: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of requests) {
    if (r.user !== user || r.at < fromMs || r.at >= toMs) continue;
    const key = `${r.verb} ${r.resource}`.trim();
    out[key] = (out[key] ?? 0) + 1;
  }
  return Object.fromEntries(Object.entries(out).sort((a, b) => b[1] - a[1]));
}

export const total = (counts: Readonly<Record<string, number>>, leaveOut: (key: string) => boolean = () => false): number =>
  Object.entries(counts).reduce((s, [k, n]) => (leaveOut(k) ? s : s + n), 0);
