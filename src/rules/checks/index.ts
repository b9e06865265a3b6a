import type { Rule } from "../rule.js";
import { twReuseOnAcceptOnlyRule } from "./accept-only.js";
import { ephemeralPortsExhaustedRule } from "./ephemeral-ports.js";
import { conntrackTimeWaitShortRule, keepaliveAboveIdleTimeoutRule } from "./idle-timeouts.js";
import { absentEquivalentRule, kernelUnknownRule, keyAbsentRule, moduleRequiredRule, valueTooNewRule } from "./kernel-support.js";
import { nameInvalidRule, outOfScopeRule, unknownKeyRule } from "./names.js";
import { hostNamespaceOnlyRule } from "./netns-scope.js";
import { placementLabelRule } from "./placement-labels.js";
import { portRangeOverlapRule, portRangeParityRule, portRangeUnprivilegedRule } from "./port-range.js";
import { lowRetries2Rule } from "./retries.js";
import { somaxconnCapRule } from "./somaxconn.js";
import { unprivilegedPortStartRule } from "./privileged-ports.js";
import { policySchemaRule } from "./spec-shape.js";
import { synackRetriesZeroRule, syncookiesOffRule } from "./syn-flood.js";
import { finTimeoutMythRule, shortReuseDelayRule, smallTwBucketsRule } from "./time-wait-myths.js";
import { reuseNeedsTimestampsRule, timestampsOffRule } from "./timestamps.js";
import { twRecycleRule } from "./tw-recycle.js";
import { duplicateKeyRule, valueInvalidRule } from "./values.js";

/** Every rule, in id order. Ids are stable: never reuse or renumber one. */
export const RULES: readonly Rule[] = [
  policySchemaRule,
  nameInvalidRule,
  outOfScopeRule,
  unknownKeyRule,
  duplicateKeyRule,
  valueInvalidRule,
  reuseNeedsTimestampsRule,
  timestampsOffRule,
  twRecycleRule,
  keyAbsentRule,
  absentEquivalentRule,
  valueTooNewRule,
  kernelUnknownRule,
  moduleRequiredRule,
  somaxconnCapRule,
  portRangeUnprivilegedRule,
  portRangeOverlapRule,
  portRangeParityRule,
  ephemeralPortsExhaustedRule,
  unprivilegedPortStartRule,
  finTimeoutMythRule,
  smallTwBucketsRule,
  shortReuseDelayRule,
  lowRetries2Rule,
  synackRetriesZeroRule,
  syncookiesOffRule,
  hostNamespaceOnlyRule,
  placementLabelRule,
  keepaliveAboveIdleTimeoutRule,
  conntrackTimeWaitShortRule,
  twReuseOnAcceptOnlyRule,
];
