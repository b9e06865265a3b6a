import type { Rule } from "../rule.js";

/** TT041: a placement label with a value outside the contract counts as unknown placement. */
export const placementLabelRule: Rule = {
  id: "TT041",
  name: "placement-label-invalid",
  severity: "warn",
  summary: "A tcptuning.io placement label has a value outside the contract; it is treated as unknown.",
  reference: { title: "docs/contract.md section 2 (placement labels)" },
  checkNode(_policy, node, emit) {
    for (const [label, value] of node.placement.invalidLabels) {
      emit({
        message: `Node ${node.name} has ${label}=${JSON.stringify(value)}, which is not a documented value; its placement is treated as unknown ("may be behind NAT"). Fix the label (see docs/contract.md).`,
      });
    }
  },
};
