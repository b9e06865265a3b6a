/**
 * Server-side apply (SSA) of custom objects and their status subresource. The body is the writer's
 * whole intent for the fields it manages: a field it stopped sending is removed (if no other manager
 * owns it), fields other managers own are left alone. One field manager per component
 * (FIELD_MANAGERS); `force` takes fields over from another manager, so it is for fields that are ours
 * by design (the agent's status, the controller's spec), never to win a fight with a person.
 * For core objects, call the typed API's patch method with `serverSideApply()` (patch.ts) and the same
 * `fieldManager`/`force` rules.
 */
import type { CustomObjectsApi } from "@kubernetes/client-node";
import { wrapApiError } from "./api-error.js";
import type { FieldManager } from "./client.js";
import { serverSideApply } from "./patch.js";

/** Which custom object: cluster-scoped when `namespace` is absent. */
export interface CustomObjectRef {
  readonly group: string;
  readonly version: string;
  readonly plural: string;
  readonly name: string;
  readonly namespace?: string;
}

export interface ApplyOptions {
  readonly fieldManager: FieldManager;
  /** Take over fields another manager owns (409 Conflict otherwise). Only where ownership is ours. */
  readonly force: boolean;
}

/**
 * The applied configuration: apiVersion, kind and metadata.name are required by the apiserver
 * (they must match the target); the rest is every field this manager wants to own.
 */
export interface ApplyBody {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string; readonly [k: string]: unknown };
  readonly [field: string]: unknown;
}

/** "apply status of tcptuningnodestates.tcptuning.io node-1 as tcp-tuning-agent" */
function describe(ref: CustomObjectRef, sub: string, fieldManager: string): string {
  const where = ref.namespace ? `${ref.namespace}/${ref.name}` : ref.name;
  return `apply ${sub}${ref.plural}.${ref.group} ${where} as ${fieldManager}`;
}

/** Applies the main resource (spec, metadata labels/annotations/ownerReferences...); returns the object. */
export async function applyCustomObject(api: CustomObjectsApi, ref: CustomObjectRef, body: ApplyBody, options: ApplyOptions): Promise<unknown> {
  const common = { group: ref.group, version: ref.version, plural: ref.plural, name: ref.name, body, fieldManager: options.fieldManager, force: options.force };
  try {
    return ref.namespace
      ? await api.patchNamespacedCustomObject({ ...common, namespace: ref.namespace }, serverSideApply())
      : await api.patchClusterCustomObject(common, serverSideApply());
  } catch (err) {
    throw wrapApiError(describe(ref, "", options.fieldManager), err);
  }
}

/**
 * Applies the status subresource (only `status` of the body is considered by the apiserver). The object
 * must exist: SSA on a subresource does not create it (404).
 */
export async function applyCustomObjectStatus(api: CustomObjectsApi, ref: CustomObjectRef, body: ApplyBody, options: ApplyOptions): Promise<unknown> {
  const common = { group: ref.group, version: ref.version, plural: ref.plural, name: ref.name, body, fieldManager: options.fieldManager, force: options.force };
  try {
    return ref.namespace
      ? await api.patchNamespacedCustomObjectStatus({ ...common, namespace: ref.namespace }, serverSideApply())
      : await api.patchClusterCustomObjectStatus(common, serverSideApply());
  } catch (err) {
    throw wrapApiError(describe(ref, "status of ", options.fieldManager), err);
  }
}
