/** The rule engine's public surface: what the webhook, the controller and the CLI import. */
export { evaluatePolicy, evaluatePrepared, checkOnNode, checkPolicyAlone, selects } from "./engine.js";
export type { NodeReport, NodeVerdict, PolicyReport, PolicyVerdict } from "./engine.js";
export { classFacts, classifyNodes, evaluateByClass, evaluateClasses, expandClassReport, findingFor, nodeClassKey, selectClasses } from "./node-classes.js";
export type { ClassFinding, ClassMembers, ClassReport, ClassVerdict, NodeClassTable } from "./node-classes.js";
export { compileSelector } from "./label-selector.js";
export type { LabelMatcher } from "./label-selector.js";
export type { Finding, RuleInfo, Severity } from "./finding.js";
export { groupFindingKinds } from "./finding-groups.js";
export type { FindingKind } from "./finding-groups.js";
export { referenceText } from "./finding.js";
export { prepareNode, nodeInputFromObject, nodeObjectSchema, nodeInputSchema } from "./node-facts.js";
export type { NodeInput, NodeObject, PreparedNode } from "./node-facts.js";
export { preparePolicy } from "./prepared-policy.js";
export type { PreparedPolicy, PreparedEntry, SchemaIssue } from "./prepared-policy.js";
export { parseDefaultPlacement, placementFromLabels } from "./placement.js";
export type { DefaultPlacement, Placement } from "./placement.js";
export { CATALOG, lookupSysctl, catalogNames } from "./catalog.js";
export type { EnumValue, KernelBounds, KernelLimit, NetnsScope, Reference, SysctlSpec, ValueGrammar } from "./catalog-types.js";
export { RULES } from "./checks/index.js";
export type { Rule } from "./rule.js";
export { parseKernelVersion } from "./kernel-version.js";
export { boundaryValues, fieldRange, kernelAnswer, kernelBoundsFor, KNOWN_HZ } from "./kernel-bounds.js";
export type { KernelAnswer } from "./kernel-bounds.js";
export type { KernelVersion } from "./kernel-version.js";
export { normalizeSysctlValue, parseValue } from "./value-grammar.js";
export type { ParsedValue, ParseResult } from "./value-grammar.js";
/** The did-you-mean helper: the closest candidate to a misspelled word, if any is close enough. */
export { closest } from "./suggest.js";
