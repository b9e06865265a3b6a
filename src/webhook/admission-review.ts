import { z } from "zod";

/**
 * AdmissionReview admission.k8s.io/v1, the parts this webhook reads and writes.
 * Loose objects: the apiserver may add fields; only what the judgement needs is required.
 */
export const ADMISSION_API_VERSION = "admission.k8s.io/v1";

const groupVersionKindSchema = z.looseObject({ group: z.string(), version: z.string(), kind: z.string() });
const groupVersionResourceSchema = z.looseObject({ group: z.string(), version: z.string(), resource: z.string() });

export const OPERATIONS = ["CREATE", "UPDATE", "DELETE", "CONNECT"] as const;

export const admissionRequestSchema = z.looseObject({
  uid: z.string().min(1),
  kind: groupVersionKindSchema,
  resource: groupVersionResourceSchema,
  subResource: z.string().optional(),
  name: z.string().optional(),
  namespace: z.string().optional(),
  operation: z.enum(OPERATIONS),
  userInfo: z.looseObject({ username: z.string().optional() }).optional(),
  object: z.unknown().optional(),
  oldObject: z.unknown().optional(),
  dryRun: z.boolean().optional(),
});
export type AdmissionRequest = z.infer<typeof admissionRequestSchema>;

export const admissionReviewSchema = z.looseObject({
  apiVersion: z.literal(ADMISSION_API_VERSION),
  kind: z.literal("AdmissionReview"),
  request: admissionRequestSchema,
});
export type AdmissionReviewRequest = z.infer<typeof admissionReviewSchema>;

export interface AdmissionResponse {
  readonly uid: string;
  readonly allowed: boolean;
  readonly status?: { readonly code: number; readonly reason?: string; readonly message: string };
  readonly warnings?: readonly string[];
}

export interface AdmissionReviewResponse {
  readonly apiVersion: typeof ADMISSION_API_VERSION;
  readonly kind: "AdmissionReview";
  readonly response: AdmissionResponse;
}

export function reviewResponse(response: AdmissionResponse): AdmissionReviewResponse {
  return { apiVersion: ADMISSION_API_VERSION, kind: "AdmissionReview", response };
}

/** Why a body is not an AdmissionReview, in one line: what the server answers with a 400. */
export function describeReviewError(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((i) => `${i.path.length > 0 ? i.path.map(String).join(".") : "(body)"}: ${i.message}`)
    .join("; ");
}
