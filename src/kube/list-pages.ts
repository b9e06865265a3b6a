import type { KubernetesListObject, KubernetesObject } from "@kubernetes/client-node";

/**
 * Items per LIST page: bounds the memory a LIST of 5,000 whole Nodes (10 to 30 KB each) takes at once
 * (through a generated client call, a page is read as text, parsed and deserialized before it is
 * projected: several times its size; raw-list.ts reads one item at a time instead).
 */
export const LIST_PAGE_SIZE = 100;

/**
 * Lists a whole collection page by page (limit + continue, one consistent snapshot), keeping only
 * `project(item)` of each page before the next is read: the process never holds every whole object at
 * once. The result carries the snapshot's resourceVersion, so a watch can start from it.
 */
export async function listAllPages<T extends KubernetesObject, S extends KubernetesObject>(
  listPage: (page: { limit: number; _continue?: string }) => Promise<KubernetesListObject<T>>,
  project: (item: T) => S,
  limit = LIST_PAGE_SIZE,
): Promise<KubernetesListObject<S>> {
  const items: S[] = [];
  let token: string | undefined;
  let last: KubernetesListObject<T> | undefined;
  do {
    last = await listPage(token === undefined ? { limit } : { limit, _continue: token });
    for (const item of last.items) items.push(project(item));
    token = last.metadata?._continue || undefined;
  } while (token !== undefined);
  const metadata = { ...last.metadata };
  delete metadata._continue;
  delete metadata.remainingItemCount;
  return { apiVersion: last.apiVersion, kind: last.kind, metadata, items };
}
