/** The rule engine's public surface: what the webhook, the controller and the CLI import. */
export { evaluatePolicy, evaluatePrepared, checkOnNode, checkPolicyAlone, selects } from "./engine.js";
export type { NodeReport, NodeVerdict, PolicyReport, PolicyVerdict } from "./engine.js";
export type { Finding, RuleInfo, Severity } from "./finding.js";
export { prepareNode, nodeInputFromObject, nodeObjectSchema, nodeInputSchema } from "./node-facts.js";
export type { NodeInput, NodeObject, PreparedNode } from "./node-facts.js";
export { preparePolicy } from "./prepared-policy.js";
export type { PreparedPolicy, PreparedEntry } from "./prepared-policy.js";
export { parseDefaultPlacement, placementFromLabels } from "./placement.js";
export type { DefaultPlacement, Placement } from "./placement.js";
export { CATALOG, lookupSysctl, catalogNames } from "./catalog.js";
export { RULES } from "./rules/index.js";
export { parseKernelVersion } from "./kernel-version.js";
export { normalizeSysctlValue, parseValue } from "./value-grammar.js";
