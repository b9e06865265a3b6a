import { describeKernel, keyPresence, valueTooNew } from "../key-presence.js";
import type { PreparedEntry } from "../prepared-policy.js";
import type { Rule } from "../rule.js";
import { entryReport } from "../rule.js";

const IP_SYSCTL = { title: "Documentation/networking/ip-sysctl.rst", url: "https://docs.kernel.org/networking/ip-sysctl.html" };

function isAbsentEquivalent(e: PreparedEntry): boolean {
  return e.spec?.absentEquivalent !== undefined && e.normalized === e.spec.absentEquivalent;
}

function hasVersionedValue(e: PreparedEntry): boolean {
  const g = e.spec?.grammar;
  const p = e.parsed;
  return g?.kind === "enum" && p?.kind === "enum" && g.values.some((v) => v.value === p.value && v.since !== undefined);
}

/** TT011: the key does not exist on this node's kernel (too old, removed, or the probe found no file). */
export const keyAbsentRule: Rule = {
  id: "TT011",
  name: "sysctl-absent-on-kernel",
  severity: "deny",
  summary: "The key does not exist on the node's kernel.",
  reference: IP_SYSCTL,
  nodeCheckApplies: (policy) => policy.judgeable.length > 0,
  checkNode(policy, node, emit) {
    for (const e of policy.judgeable) {
      const spec = e.spec;
      if (!spec) continue;
      const presence = keyPresence(node, spec);
      if (presence.state !== "absent") continue;
      if (spec.absentEquivalent !== undefined && e.normalized === spec.absentEquivalent) continue; // TT012
      const by = presence.by === "probe" ? `the node agent found no /proc/sys entry for it on ${describeKernel(node)}` : `${describeKernel(node)}`;
      let why: string;
      if (spec.removedIn && presence.by === "version")
        why = `it was removed in ${spec.removedIn} (${spec.removedRef ?? "kernel history"}), so \`sysctl -p\` fails with "cannot stat"`;
      else if (spec.since && presence.by === "version") why = `it exists from ${spec.since} (${spec.sinceRef ?? "kernel history"})`;
      else if (spec.requiresModule) why = `it exists only while ${spec.requiresModule} is loaded`;
      else why = "the kernel does not offer it";
      const fix =
        spec.absentEquivalent !== undefined
          ? `Remove it from the policy, or set it to ${spec.absentEquivalent}, which is how this kernel behaves anyway.`
          : "Remove it from the policy or narrow nodeSelector to nodes whose kernel has it.";
      emit(
        entryReport(e, `${e.name} does not exist on node ${node.name} (${by}): ${why}. ${fix}`, {
          reference: { title: spec.removedRef ?? spec.sinceRef ?? IP_SYSCTL.title },
        }),
      );
    }
  },
};

/** TT012: asking a kernel without the key for the behaviour it already has (tcp_tw_recycle=0 on >= 4.12). */
export const absentEquivalentRule: Rule = {
  id: "TT012",
  name: "absent-key-already-in-effect",
  severity: "warn",
  summary: "The key is absent on the node, but its requested value is already how that kernel behaves.",
  reference: IP_SYSCTL,
  nodeCheckApplies: (policy) => policy.judgeable.some(isAbsentEquivalent),
  checkNode(policy, node, emit) {
    for (const e of policy.judgeable) {
      const spec = e.spec;
      if (!spec || !isAbsentEquivalent(e)) continue;
      if (keyPresence(node, spec).state !== "absent") continue;
      emit(
        entryReport(
          e,
          `${e.name}=${e.normalized} on node ${node.name}: ${describeKernel(node)} has no such key, and its behaviour is already that of ${e.normalized}; the agent skips it there. Nothing to do on this node; keep the entry while older kernels in the fleet still have the key, and drop it once none does.`,
          { reference: { title: spec.removedRef ?? IP_SYSCTL.title } },
        ),
      );
    }
  },
};

/** TT013: the key exists, but this value arrived in a later kernel (tcp_tw_reuse=2 before 4.18). */
export const valueTooNewRule: Rule = {
  id: "TT013",
  name: "value-not-on-kernel",
  severity: "deny",
  summary: "The value is not valid on the node's kernel version.",
  reference: IP_SYSCTL,
  nodeCheckApplies: (policy) => policy.judgeable.some(hasVersionedValue),
  checkNode(policy, node, emit) {
    for (const e of policy.judgeable) {
      const spec = e.spec;
      const parsed = e.parsed;
      if (!spec || !parsed || parsed.kind !== "enum") continue;
      if (keyPresence(node, spec).state === "absent") continue; // TT011 says more
      const v = valueTooNew(node, spec, parsed.value);
      if (!v) continue;
      const older = v.olderKernels ? ` (${v.olderKernels})` : "";
      const warnOnly = v.onOlderKernels === "warn";
      const fix = warnOnly
        ? `Nothing to change for this node; to silence this warning, narrow nodeSelector to kernels ${v.since}+.`
        : `Use a value that kernel supports or exclude the node with nodeSelector.`;
      emit(
        entryReport(
          e,
          `${e.name}=${v.value} (${v.meaning}) needs kernel ${v.since}+ (${v.sinceRef ?? "kernel history"}); node ${node.name} runs ${describeKernel(node)}${older}. ${fix}`,
          {
            reference: { title: v.sinceRef ?? IP_SYSCTL.title },
            ...(warnOnly ? { severity: "warn" as const } : {}),
          },
        ),
      );
    }
  },
};

/** TT014: no kernel version and no probe: version-dependent checks cannot run. */
export const kernelUnknownRule: Rule = {
  id: "TT014",
  name: "kernel-unknown",
  severity: "warn",
  summary: "The node's kernel version cannot be read, and the agent has not probed it.",
  reference: { title: "docs/contract.md section 2 (node facts)" },
  nodeCheckApplies: (policy) => policy.judgeable.length > 0,
  checkNode(policy, node, emit) {
    if (node.kernel || node.probed || policy.judgeable.length === 0) return;
    emit({
      message: `Node ${node.name} reports no readable kernel version (${JSON.stringify(node.kernelText)}) and no agent probe yet: kernel-dependent checks were not run there. Wait for the node agent to report, or fix status.nodeInfo.kernelVersion.`,
    });
  },
};

/** TT015: keys that exist only with a module loaded (nf_conntrack) and no probe to tell. */
export const moduleRequiredRule: Rule = {
  id: "TT015",
  name: "module-required",
  severity: "warn",
  summary: "The key exists only with a kernel module loaded, and the node has not been probed.",
  reference: { title: "Documentation/networking/nf_conntrack-sysctl.rst", url: "https://docs.kernel.org/networking/nf_conntrack-sysctl.html" },
  nodeCheckApplies: (policy) => policy.judgeable.some((e) => e.spec?.requiresModule !== undefined),
  checkNode(policy, node, emit) {
    for (const e of policy.judgeable) {
      const spec = e.spec;
      if (!spec?.requiresModule) continue;
      const presence = keyPresence(node, spec);
      if (presence.state === "unknown" && presence.why === "module") {
        emit(
          entryReport(
            e,
            `${e.name} exists on node ${node.name} only while ${spec.requiresModule} is loaded, and the agent has not probed it yet; if the module is missing, applying fails there. Make sure ${spec.requiresModule} is loaded at boot.`,
          ),
        );
      }
    }
  },
};
