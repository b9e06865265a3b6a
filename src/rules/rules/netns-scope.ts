import { KUBERNETES_REFERENCE } from "../catalog.js";
import type { Rule } from "../rule.js";
import { entryReport } from "../rule.js";

/**
 * TT040: the agent writes in the host network namespace; per-netns keys start from kernel defaults in
 * every new namespace (tcp_rmem/tcp_wmem copy the host's once), so ordinary pods do not see these values.
 */
export const hostNamespaceOnlyRule: Rule = {
  id: "TT040",
  name: "host-namespace-only",
  severity: "warn",
  summary: "Host sysctls reach the node's own processes and hostNetwork pods, not ordinary pods.",
  reference: KUBERNETES_REFERENCE,
  checkPolicy(policy, emit) {
    for (const e of policy.judgeable) {
      const spec = e.spec;
      if (!spec || spec.netns === "global") continue;
      const pods =
        spec.netns === "per-netns-copied"
          ? "pods created later copy the host's value once at creation; running pods keep theirs"
          : "ordinary pods keep the kernel default, since every new network namespace starts from it";
      const own = spec.kubeletSafeSince
        ? ` Pods that need it can set it themselves with securityContext.sysctls (on the kubelet safe list since Kubernetes ${spec.kubeletSafeSince}).`
        : " Pods that need it must set it with securityContext.sysctls, which needs the kubelet's --allowed-unsafe-sysctls.";
      emit(entryReport(e, `${e.name} is set in the host network namespace: it reaches the node's own processes and hostNetwork pods; ${pods}.${own}`));
    }
  },
};
