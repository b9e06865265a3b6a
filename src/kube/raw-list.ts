/**
 * A LIST page read as plain JSON. client-node's generated list calls parse a page and then turn every
 * item into model class instances (V1Node, V1NodeStatus, V1ContainerImage, ...) before the caller can
 * project it; for 100 whole Nodes that is tens of MB of short-lived objects, and V8 keeps the heap it
 * grew for them. Here each item is parsed on its own, as its bytes arrive, and projected at once.
 *
 * The request goes through the same pipeline as every API client (client.ts apiConfiguration: server,
 * TLS and auth from the kubeconfig, User-Agent, timeout, 429 + Retry-After), and a failure throws the
 * same ApiException a generated call throws, so api-error.ts and the informer's 410 handling read it alike.
 */
import { ApiException, HttpMethod, type Configuration, type KubernetesListObject, type KubernetesObject, type ResponseContext } from "@kubernetes/client-node";
import { z } from "zod";
import { ListItemSplitter } from "./list-items.js";

/** What a LIST answer must carry besides its items (the splitter has taken those out and checked each is an object). */
const listEnvelopeSchema = z.object({
  apiVersion: z.string().optional(),
  kind: z.string().optional(),
  metadata: z
    .object({
      resourceVersion: z.string().optional(),
      continue: z.string().optional(),
      remainingItemCount: z.number().optional(),
    })
    .optional(),
});

/** A LIST answer without its items, in client-node's shape (the one listAllPages reads: the token is `_continue`). */
export function listEnvelopeOf(json: unknown): Omit<KubernetesListObject<KubernetesObject>, "items"> {
  const page = listEnvelopeSchema.parse(json);
  const metadata: NonNullable<KubernetesListObject<KubernetesObject>["metadata"]> = {};
  if (page.metadata?.resourceVersion !== undefined) metadata.resourceVersion = page.metadata.resourceVersion;
  if (page.metadata?.continue !== undefined) metadata._continue = page.metadata.continue;
  if (page.metadata?.remainingItemCount !== undefined) metadata.remainingItemCount = page.metadata.remainingItemCount;
  return { ...(page.apiVersion === undefined ? {} : { apiVersion: page.apiVersion }), ...(page.kind === undefined ? {} : { kind: page.kind }), metadata };
}

/** GET `path` with `query` through the configuration's pipeline: the response when 2xx, else the ApiException a generated call would throw. */
export async function rawGet(config: Configuration, path: string, query: Readonly<Record<string, string | number | undefined>> = {}): Promise<ResponseContext> {
  let ctx = config.baseServer.makeRequestContext(path, HttpMethod.GET);
  ctx.setHeaderParam("Accept", "application/json");
  for (const [key, value] of Object.entries(query)) if (value !== undefined) ctx.setQueryParam(key, String(value));
  await config.authMethods.default?.applySecurityAuthentication(ctx);
  for (const m of config.middleware) ctx = await m.pre(ctx).toPromise();
  let response = await config.httpApi.send(ctx).toPromise();
  for (const m of [...config.middleware].reverse()) response = await m.post(response).toPromise();
  if (response.httpStatusCode < 200 || response.httpStatusCode > 299) {
    throw new ApiException(response.httpStatusCode, "Unknown API Status Code!", await response.body.text(), response.headers);
  }
  return response;
}

/**
 * The list function for listAllPages over a collection path (e.g. /api/v1/nodes): each page is read
 * as it arrives, every item parsed on its own (list-items.ts) and projected at once, so only the
 * projections outlive the read. Use it with an identity projection:
 * `listAllPages(rawListPage(config, "/api/v1/nodes", projectNode), (n) => n)`.
 */
export function rawListPage<T extends KubernetesObject, S extends KubernetesObject>(
  config: Configuration,
  path: string,
  project: (item: T) => S,
): (page: { limit: number; _continue?: string }) => Promise<KubernetesListObject<S>> {
  return async (page) => {
    const response = await rawGet(config, path, { limit: page.limit, continue: page._continue });
    const items: S[] = [];
    // The items are the API server's objects of that collection (T describes them); the splitter makes sure each is an object.
    const splitter = new ListItemSplitter((item) => items.push(project(item as T)));
    const stream = response.body.stream();
    if (stream) for await (const chunk of stream) splitter.push(chunk);
    else splitter.push(Buffer.from(await response.body.text(), "utf8"));
    return { ...listEnvelopeOf(splitter.end()), items };
  };
}
