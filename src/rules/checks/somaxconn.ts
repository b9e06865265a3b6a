import { lookupSysctl } from "../catalog.js";
import { describeKernel, kernelAtLeast } from "../key-presence.js";
import { requestedInt } from "../prepared-policy.js";
import type { Rule } from "../rule.js";
import { entryReport } from "../rule.js";

const SOMAXCONN = "net.core.somaxconn";
/** The catalog's tighter bound for older kernels (65535 before 4.1). */
const LIMITS = lookupSysctl(SOMAXCONN)?.limits ?? [];

/** TT016: kernels before 4.1 cap somaxconn at 65535 and refuse larger values. */
export const somaxconnCapRule: Rule = {
  id: "TT016",
  name: "somaxconn-above-kernel-cap",
  severity: "deny",
  summary: "net.core.somaxconn above 65535 on a kernel before 4.1.",
  reference: {
    title: "Documentation/admin-guide/sysctl/net.rst (somaxconn); u16 backlog before 4.1",
    url: "https://docs.kernel.org/admin-guide/sysctl/net.html",
  },
  nodeCheckApplies: (policy) => {
    const v = requestedInt(policy, SOMAXCONN);
    return v !== undefined && LIMITS.some((l) => v > l.max);
  },
  checkNode(policy, node, emit) {
    const v = requestedInt(policy, SOMAXCONN);
    const e = policy.byName.get(SOMAXCONN);
    if (v === undefined || !e) return;
    for (const limit of LIMITS) {
      if (v <= limit.max || kernelAtLeast(node, limit.before) !== false) continue;
      emit(
        entryReport(
          e,
          `${SOMAXCONN}=${v} is refused by node ${node.name} (${describeKernel(node)}): ${limit.why}. Use ${limit.max} or less for that node, or narrow nodeSelector to kernels ${limit.before}+.`,
        ),
      );
      return;
    }
  },
};
