import { describeKernel, kernelAtLeast } from "../kernel-support.js";
import { requestedInt } from "../prepared-policy.js";
import type { Rule } from "../rule.js";
import { entryReport } from "../rule.js";

const SOMAXCONN = "net.core.somaxconn";
const CAP = 65535;

/** TT016: kernels before 4.1 cap somaxconn at 65535 and refuse larger values. */
export const somaxconnCapRule: Rule = {
  id: "TT016",
  name: "somaxconn-above-kernel-cap",
  severity: "deny",
  summary: "net.core.somaxconn above 65535 on a kernel before 4.1.",
  reference: { title: "Documentation/admin-guide/sysctl/net.rst (somaxconn); u16 backlog before 4.1", url: "https://docs.kernel.org/admin-guide/sysctl/net.html" },
  checkNode(policy, node, emit) {
    const v = requestedInt(policy, SOMAXCONN);
    const e = policy.byName.get(SOMAXCONN);
    if (v === undefined || !e || v <= CAP || kernelAtLeast(node, "4.1") !== false) return;
    emit(entryReport(e, `${SOMAXCONN}=${v} is refused by node ${node.name} (${describeKernel(node)}): kernels before 4.1 cap it at ${CAP}. Use ${CAP} or less for that node.`));
  },
};
