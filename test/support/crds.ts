import { ApiextensionsV1Api, PatchStrategy, setHeaderOptions, type KubeConfig, type V1CustomResourceDefinition } from "@kubernetes/client-node";
import { CRDS } from "../../src/api/crd-gen/crd.js";

const FIELD_MANAGER = "tcp-tuning-test-support";

/**
 * Installs this project's CRDs (src/api/crd-gen/crd.ts, the same objects as crds/*.yaml) by server-side
 * apply, so calling it again, from another test file or after a change, is harmless; then waits
 * until each is Established and its API is served.
 */
export async function installCrds(kc: KubeConfig, timeoutMs = 60_000): Promise<V1CustomResourceDefinition[]> {
  const api = kc.makeApiClient(ApiextensionsV1Api);
  const applied: V1CustomResourceDefinition[] = [];
  for (const { crd } of CRDS) {
    const name = (crd["metadata"] as { name: string }).name;
    applied.push(
      await api.patchCustomResourceDefinition(
        { name, body: crd, fieldManager: FIELD_MANAGER, force: true },
        setHeaderOptions("Content-Type", PatchStrategy.ServerSideApply),
      ),
    );
  }
  return Promise.all(applied.map((c) => waitEstablished(kc, c.metadata?.name ?? "", timeoutMs)));
}

/** Waits until the CRD's Established condition is True. */
export async function waitEstablished(kc: KubeConfig, name: string, timeoutMs = 60_000): Promise<V1CustomResourceDefinition> {
  const api = kc.makeApiClient(ApiextensionsV1Api);
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const crd = await api.readCustomResourceDefinition({ name });
    const established = crd.status?.conditions?.find((c) => c.type === "Established");
    if (established?.status === "True") return crd;
    if (performance.now() > deadline) {
      throw new Error(`CRD ${name} not Established after ${timeoutMs} ms: ${JSON.stringify(crd.status?.conditions ?? [])}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
