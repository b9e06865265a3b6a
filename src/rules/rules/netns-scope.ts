import { KUBERNETES_REFERENCE } from "../catalog.js";
import type { PreparedEntry } from "../prepared-policy.js";
import type { Rule } from "../rule.js";

/** Denied everywhere by TT010/TT011/TT012: saying where its value reaches would only add noise. */
const NOT_WORTH_SCOPING = new Set(["net.ipv4.tcp_tw_recycle"]);

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
    const parts = [
      `${names(entries)} ${entries.length === 1 ? "is" : "are"} set in the host network namespace: the node's own processes and hostNetwork pods see ${entries.length === 1 ? "it" : "them"}, ordinary pods do not (every new network namespace starts from the kernel default${copied.length > 0 ? `; ${names(copied)} ${copied.length === 1 ? "is" : "are"} copied from the host once, when a pod's namespace is created, so running pods keep their values` : ""}).`,
      "If ordinary pods need these values, set them per pod with securityContext.sysctls:",
    ];
    if (safe.length > 0) parts.push(`${names(safe)} ${safe.length === 1 ? "is" : "are"} on the kubelet's safe list${unsafe.length > 0 ? ";" : "."}`);
    if (unsafe.length > 0) parts.push(`${names(unsafe)} ${unsafe.length === 1 ? "needs" : "need"} the kubelet's --allowed-unsafe-sysctls.`);
    parts.push("If only the node itself needs them, nothing to change.");
    emit({ message: parts.join(" "), sysctl: first.name, value: first.value, index: first.index });
  },
};
