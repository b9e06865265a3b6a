/**
 * THE sysctl name grammar and scope, defined once. The CRD's CEL rules (policy.ts), the rule engine
 * (TT002, TT003) and the node agent's allowlist (src/agent/sysctl-fs.ts) all use these, so the
 * apiserver, the webhook, the checker and the agent agree on which names are names at all.
 *
 * A name is written with dots, exactly as `sysctl -a` prints it: lowercase words of [a-z0-9_]; a
 * word after the first may also hold '-' (interface names, e.g. net.ipv4.conf.eth-0.rp_filter).
 * That rules out '/', '..', whitespace, upper case, globs and anything a path could be made of.
 */

/** The grammar as a regular expression source: the CRD embeds it in CEL (`self.name.matches(...)`). */
export const SYSCTL_NAME_PATTERN = "^[a-z0-9_]+([.][a-z0-9_-]+)+$";
const SYSCTL_NAME_REGEX = new RegExp(SYSCTL_NAME_PATTERN);

/** Longest name the API accepts (the CRD's maxLength). */
export const SYSCTL_NAME_MAX = 128;

/** The trees this operator may write: TCP/IP networking. kernel.*, vm.*, fs.* and the rest never. */
export const SYSCTL_SCOPE_PREFIXES = ["net.ipv4.", "net.core.", "net.netfilter."] as const;

/** The scope as people read it: "net.ipv4.*, net.core.*, net.netfilter.*". */
export const SYSCTL_SCOPE_TEXT = SYSCTL_SCOPE_PREFIXES.map((p) => `${p}*`).join(", ");

/**
 * Why a string cannot be a sysctl name ("contains '/'..."), or undefined when it is well-formed.
 * The specific reasons come first so a message names the actual problem.
 */
export function sysctlNameProblem(name: string): string | undefined {
  if (name.includes("/")) return "contains '/' (write sysctl names with dots, never as paths)";
  if (name.includes("..")) return "contains '..'";
  if (/\s/.test(name)) return "contains whitespace";
  if (/[*?[\]{}]/.test(name)) return "contains a glob character (each key must be named exactly)";
  if (!SYSCTL_NAME_REGEX.test(name)) return "is not dotted lowercase words like net.ipv4.tcp_fin_timeout";
  return undefined;
}

export function isWellFormedSysctlName(name: string): boolean {
  return SYSCTL_NAME_REGEX.test(name);
}

/** Whether a (well-formed) name lies in the trees this operator may write. */
export function isInScope(name: string): boolean {
  return SYSCTL_SCOPE_PREFIXES.some((p) => name.startsWith(p));
}
