import { PatchStrategy, setHeaderOptions, type ConfigurationOptions, type ObservableMiddleware } from "@kubernetes/client-node";

/**
 * client-node 2.x sends every PATCH as application/json-patch+json unless told otherwise; the content type
 * is chosen by a request middleware. These options pick the patch type explicitly for each call.
 */
export function patchOptions(strategy: PatchStrategy): ConfigurationOptions<ObservableMiddleware> {
  return setHeaderOptions("Content-Type", strategy);
}

/** RFC 7386 JSON merge patch: objects merge, null deletes, lists are replaced whole. */
export const mergePatch = (): ConfigurationOptions<ObservableMiddleware> => patchOptions(PatchStrategy.MergePatch);

/** RFC 6902 JSON patch: a list of operations, with `test` for optimistic checks. */
export const jsonPatch = (): ConfigurationOptions<ObservableMiddleware> => patchOptions(PatchStrategy.JsonPatch);

export type JsonPatchOperation =
  { readonly op: "add" | "replace" | "test"; readonly path: string; readonly value: unknown } | { readonly op: "remove"; readonly path: string };

/** A JSON pointer (RFC 6901) from path segments, escaping '~' and '/'. */
export function jsonPointer(...segments: readonly (string | number)[]): string {
  return segments.map((s) => `/${String(s).replace(/~/g, "~0").replace(/\//g, "~1")}`).join("");
}

/** Server-side apply (application/apply-patch+yaml; JSON is valid YAML): see apply.ts. */
export const serverSideApply = (): ConfigurationOptions<ObservableMiddleware> => patchOptions(PatchStrategy.ServerSideApply);
