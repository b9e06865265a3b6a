import { isDeepStrictEqual } from "node:util";
import { API_GROUP, POLICY_KIND, POLICY_PLURAL } from "../api/v1alpha1/group.js";
import {
  classifyNodes,
  evaluateClasses,
  preparePolicy,
  selectClasses,
  type ClassMembers,
  type ClassReport,
  type PreparedNode,
  type PreparedPolicy,
} from "../rules/index.js";
import {
  admissionReviewSchema,
  describeReviewError,
  reviewResponse,
  type AdmissionRequest,
  type AdmissionResponse,
  type AdmissionReviewResponse,
} from "./admission-review.js";
import { admissionWarnings, denialMessage } from "./messages.js";

/** The nodes the webhook judges against, as the node cache holds them at the time of the request. */
export interface NodeSnapshot {
  /** False until the informers' first LIST has landed: judging against no nodes would let anything in. */
  readonly synced: boolean;
  /** The nodes a policy selects, grouped into classes of equal facts (the node index answers from its label index). */
  select(policy: PreparedPolicy): readonly ClassMembers[];
}

/** A snapshot of a plain list of prepared nodes (tests, tools): selection by scanning, classes computed once. */
export function nodeListSnapshot(nodes: readonly PreparedNode[], synced = true): NodeSnapshot {
  const table = classifyNodes(nodes);
  return { synced, select: (policy) => selectClasses(policy, table) };
}

/** Why admission answered the way it did: for logs and metrics, never sent to the apiserver. */
export type Outcome =
  "allowed" | "allowed-with-warnings" | "denied" | "dry-run" | "unchanged-spec" | "not-a-policy" | "operation-ignored" | "not-synced" | "no-object";

export interface Admission {
  readonly review: AdmissionReviewResponse;
  readonly outcome: Outcome;
  /** The engine's report (by class of nodes), when the policy was judged. */
  readonly report?: ClassReport;
}

export type ParsedReview = { readonly ok: true; readonly request: AdmissionRequest } | { readonly ok: false; readonly reason: string };

/** Validates a decoded body as an AdmissionReview v1 with a request and its uid. */
export function parseReview(body: unknown): ParsedReview {
  const parsed = admissionReviewSchema.safeParse(body);
  if (!parsed.success) return { ok: false, reason: `not an admission.k8s.io/v1 AdmissionReview with a request: ${describeReviewError(parsed.error)}` };
  return { ok: true, request: parsed.data.request };
}

function isPolicyRequest(r: AdmissionRequest): boolean {
  return r.kind.group === API_GROUP && r.kind.kind === POLICY_KIND && r.resource.resource === POLICY_PLURAL && !r.subResource;
}

function specOf(obj: unknown): unknown {
  return obj && typeof obj === "object" ? (obj as { spec?: unknown }).spec : undefined;
}

function answer(uid: string, outcome: Outcome, fields: Omit<AdmissionResponse, "uid">, report?: ClassReport): Admission {
  const response: AdmissionResponse = { uid, ...fields };
  return report ? { review: reviewResponse(response), outcome, report } : { review: reviewResponse(response), outcome };
}

/**
 * The admission judgement, pure: an AdmissionReview request and the node snapshot in, the response out.
 *
 * - Only TcpTuningPolicy CREATE and UPDATE are judged. Anything else that reaches this webhook (a
 *   misrouted kind, DELETE, a subresource) is allowed untouched: the configuration routes only our
 *   own resource here, and refusing what we do not own could lock other objects out.
 * - An UPDATE that leaves spec as it was (labels, finalizers) is allowed, so that a policy that became
 *   unsafe because the fleet changed can still be labelled and its deletion finished (finalizer
 *   removal). A policy being deleted is judged like any other when its spec changes: the apiserver
 *   lets a terminating object's spec change, so a deletionTimestamp is no pass.
 * - Until the node cache has synced, requests are refused with 503 and a reason, never judged blind.
 * - Enforce: any deny finding refuses the policy with a bounded message; warn findings become warnings.
 * - DryRun: admitted; deny findings become "would deny" warnings (audit mode).
 */
export function admit(request: AdmissionRequest, snapshot: NodeSnapshot): Admission {
  const uid = request.uid;
  if (!isPolicyRequest(request)) return answer(uid, "not-a-policy", { allowed: true });
  if (request.operation !== "CREATE" && request.operation !== "UPDATE") return answer(uid, "operation-ignored", { allowed: true });
  if (request.object === undefined || request.object === null) {
    return answer(uid, "no-object", {
      allowed: false,
      status: { code: 400, reason: "BadRequest", message: `${request.operation} of a TcpTuningPolicy without request.object` },
    });
  }
  if (request.operation === "UPDATE" && request.oldObject !== undefined && isDeepStrictEqual(specOf(request.object), specOf(request.oldObject))) {
    return answer(uid, "unchanged-spec", { allowed: true });
  }
  if (!snapshot.synced) {
    return answer(uid, "not-synced", {
      allowed: false,
      status: {
        code: 503,
        reason: "ServiceUnavailable",
        message: "the tcp-tuning webhook has not finished reading the cluster's nodes yet; retry in a few seconds",
      },
    });
  }
  const policy = preparePolicy(request.object);
  // Each class of equal node facts is judged once: the cost grows with classes, not nodes.
  const report = evaluateClasses(policy, snapshot.select(policy));
  const dryRun = policy.spec !== undefined && policy.mode === "DryRun";
  const warnings = admissionWarnings(report, { dryRun });
  const withWarnings = warnings.length > 0 ? { warnings } : {};
  if (report.verdict === "denied" && !dryRun) {
    return answer(uid, "denied", { allowed: false, status: { code: 403, reason: "Forbidden", message: denialMessage(report) }, ...withWarnings }, report);
  }
  const outcome: Outcome = report.verdict === "denied" ? "dry-run" : warnings.length > 0 ? "allowed-with-warnings" : "allowed";
  return answer(uid, outcome, { allowed: true, ...withWarnings }, report);
}

/** Body in, response out: the parse and the judgement together, for callers that hold a decoded body. */
export function review(body: unknown, snapshot: NodeSnapshot): Admission | { readonly error: string } {
  const parsed = parseReview(body);
  if (!parsed.ok) return { error: parsed.reason };
  return admit(parsed.request, snapshot);
}
