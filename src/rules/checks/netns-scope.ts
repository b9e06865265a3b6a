import { KUBERNETES_REFERENCE } from "../catalog.js";
import { version } from "../key-presence.js";
import { atLeast, parseVersionSpec } from "../kernel-version.js";
import type { PreparedEntry } from "../prepared-policy.js";
import type { Rule } from "../rule.js";

/** The oldest kernel in scope (RHEL 7): keys that became per-namespace later were global on some supported nodes. */
const OLDEST_KERNEL = parseVersionSpec("3.10");

/** Denied everywhere by TT010/TT011/TT012: saying where its value reaches would only add noise. */
const NOT_WORTH_SCOPING = new Set(["net.ipv4.tcp_tw_recycle"]);

/**
 * Safe-list additions from this Kubernetes minor on are named with their version: on an older kubelet a
 * pod asking for them is refused (SysctlForbidden). Older additions (1.4, 1.22) are in every kubelet in use.
 */
const SAFE_LIST_VERSION_NOTED_FROM = 27;

function minorOf(kubernetes: string): number {
  const m = /^1\.(\d+)$/.exec(kubernetes);
  return m ? Number(m[1]) : Number.POSITIVE_INFINITY;
}

/**
 * "net.ipv4.tcp_keepalive_time (Kubernetes 1.29+, kernel 4.5+)", or just the name for long-standing
 * safe sysctls the kubelet offers on every kernel. The kubelet drops a key from its safe list on
 * kernels where it is not yet per namespace (pkg/kubelet/sysctl/safe_sysctls.go).
 */
function safeName(e: PreparedEntry): string {
  const since = e.spec?.kubeletSafeSince;
  const kernel = e.spec?.kubeletSafeKernel;
  const notes = [
    since !== undefined && minorOf(since) >= SAFE_LIST_VERSION_NOTED_FROM ? `Kubernetes ${since}+` : undefined,
    kernel !== undefined ? `kernel ${kernel}+` : undefined,
  ].filter((n) => n !== undefined);
  return notes.length > 0 ? `${e.name} (${notes.join(", ")})` : e.name;
}

function scoped(e: PreparedEntry): boolean {
  return e.spec !== undefined && e.spec.netns !== "global" && !NOT_WORTH_SCOPING.has(e.name);
}

/**
 * TT040: the agent writes in the host network namespace; per-netns keys start from kernel defaults in
 * every new namespace (tcp_rmem/tcp_wmem copy the host's once), so ordinary pods do not see these values.
 * One finding per policy, naming every such key: the fact is the same for all of them.
 */
export const hostNamespaceOnlyRule: Rule = {
  id: "TT040",
  name: "host-namespace-only",
  severity: "warn",
  summary: "Host sysctls reach the node's own processes and hostNetwork pods, not ordinary pods.",
  reference: KUBERNETES_REFERENCE,
  checkPolicy(policy, emit) {
    const entries = policy.judgeable.filter(scoped);
    const first = entries[0];
    if (!first) return;
    const names = (list: readonly PreparedEntry[]): string => list.map((e) => e.name).join(", ");
    const copied = entries.filter((e) => e.spec?.netns === "per-netns-copied");
    const safe = entries.filter((e) => e.spec?.kubeletSafeSince !== undefined);
    const unsafe = entries.filter((e) => e.spec?.kubeletSafeSince === undefined);
    const one = entries.length === 1;
    // Before a key became per-namespace it was one global value: there the host value does reach every pod.
    const lateNetns = entries.filter(
      (e) => e.spec?.perNetnsSince !== undefined && e.spec.perNetnsSince !== e.spec.since && !atLeast(OLDEST_KERNEL, version(e.spec.perNetnsSince)),
    );
    const parts = [
      `${names(entries)} ${one ? "is" : "are"} set in the host network namespace: the node's own processes and hostNetwork pods see ${one ? "it" : "them"}, ordinary pods do not (every new network namespace starts from the kernel default${copied.length > 0 ? `; ${names(copied)} ${copied.length === 1 ? "is" : "are"} copied from the host once, when a pod's namespace is created, so running pods keep their values` : ""}).`,
    ];
    if (lateNetns.length > 0) {
      parts.push(
        `On older kernels the host value reaches every pod instead, because the key was still global there: ${lateNetns.map((e) => `${e.name} before ${e.spec?.perNetnsSince ?? "?"}`).join(", ")}.`,
      );
    }
    parts.push(`If ordinary pods need ${one ? "this value" : "these values"}, set ${one ? "it" : "them"} per pod with securityContext.sysctls:`);
    const gated = safe.some((e) => e.spec?.kubeletSafeKernel !== undefined);
    if (safe.length > 0)
      parts.push(
        `${safe.map(safeName).join(", ")} ${safe.length === 1 ? "is" : "are"} on the kubelet's safe list${gated ? " (on older kernels the kubelet leaves a key marked kernel N+ off the list and refuses a pod that asks for it)" : ""}${unsafe.length > 0 ? ";" : "."}`,
      );
    if (unsafe.length > 0) parts.push(`${names(unsafe)} ${unsafe.length === 1 ? "needs" : "need"} the kubelet's --allowed-unsafe-sysctls.`);
    parts.push(`If only the node itself needs ${one ? "it" : "them"}, nothing to change.`);
    emit({ message: parts.join(" "), sysctl: first.name, value: first.value, index: first.index });
  },
};
