import type { VersionSpec } from "./kernel-version.js";

/** How a sysctl's value is written, and what the catalog accepts. */
export type ValueGrammar =
  /** A single integer within [min, max]. */
  | { readonly kind: "int"; readonly min: number; readonly max: number; readonly unit?: string }
  /** One of a few documented integers; some appeared only in later kernels. */
  | { readonly kind: "enum"; readonly values: readonly EnumValue[] }
  /** Two integers "low high" within [min, max], low <= high (ip_local_port_range). */
  | { readonly kind: "range"; readonly min: number; readonly max: number }
  /** Three integers "min default max", each >= min, non-decreasing (tcp_rmem, tcp_wmem). */
  | { readonly kind: "triple"; readonly min: number; readonly max: number; readonly unit?: string }
  /** A comma list of ports and port ranges within [min, max], or empty (ip_local_reserved_ports). */
  | { readonly kind: "portList"; readonly min: number; readonly max: number };

export interface EnumValue {
  readonly value: number;
  readonly meaning: string;
  /** The first kernel that accepts this value, when later than the key itself. */
  readonly since?: VersionSpec;
  readonly sinceRef?: string;
  /** What kernels before `since` do with this value instead (they may accept it and do something else). */
  readonly olderKernels?: string;
  /**
   * How TT013 judges the value on kernels before `since`: "deny" (the default) when they do something
   * else than asked, "warn" when they end up doing what was asked anyway (say why in olderKernels).
   */
  readonly onOlderKernels?: "deny" | "warn";
}

/** A bound that older kernels enforce more tightly than the grammar does (somaxconn: 65535 before 4.1). */
export interface KernelLimit {
  /** The first kernel without this limit. */
  readonly before: VersionSpec;
  readonly max: number;
  /** Why older kernels refuse more: what the kernel-facts doc says, with a source. */
  readonly why: string;
}

/**
 * What the kernel itself accepts for a key on a span of kernel versions: the bounds its sysctl handler
 * enforces per field (net/ipv4/sysctl_net_ipv4.c and friends). The catalog's grammar must lie inside
 * them (or the agent would attempt writes the kernel refuses); where the grammar refuses values the
 * kernel takes, the spec says why in `stricterThanKernel`. The kernel self-check test (test/agent)
 * writes the grammar's bounds and one step beyond each in a network namespace and compares.
 */
export interface KernelBounds {
  /** First kernel these bounds hold for (absent: every kernel in scope before `before`). */
  readonly since?: VersionSpec;
  /** First kernel they no longer hold for. */
  readonly before?: VersionSpec;
  /** How the value is stored: an unbounded side takes the whole range of this type. */
  readonly type: "int" | "u8" | "uint";
  /** Lowest value per field the handler takes, when tighter than the type. */
  readonly min?: number;
  /** Highest value per field, when tighter than the type; "INT_MAX/HZ" for seconds turned into jiffies. */
  readonly max?: number | "INT_MAX/HZ";
  /**
   * Vectors (tcp_rmem): proc_dointvec_minmax stores each field as it goes, so a refused write leaves
   * the fields before the bad one written. Vectors checked as a whole first (ip_local_port_range) do not.
   */
  readonly partialWrites?: boolean;
  /** The handler and where it is: file, table or function, and a tag or commit. */
  readonly source: string;
}

export interface Reference {
  readonly title: string;
  readonly url?: string;
}

/** Which network namespaces see a value written in the host's namespace. */
export type NetnsScope =
  /** Per network namespace; a new namespace starts from the kernel's built-in default. */
  | "per-netns-default"
  /** Per network namespace; a new namespace copies the host's values once, at creation. */
  | "per-netns-copied"
  /** One value for the whole host. */
  | "global";

export interface SysctlSpec {
  /** With dots, exactly as `sysctl -a` prints it. */
  readonly name: string;
  readonly summary: string;
  readonly grammar: ValueGrammar;
  /** The kernel default, as text (it may depend on version or memory). */
  readonly defaultValue: string;
  /** First kernel with the key, when it is not "always" (older than anything we support). */
  readonly since?: VersionSpec;
  readonly sinceRef?: string;
  /** First kernel without the key. */
  readonly removedIn?: VersionSpec;
  readonly removedRef?: string;
  /**
   * The value whose behaviour a kernel without the key already has (tcp_tw_recycle: "0").
   * Asking for it where the key is absent is harmless: warned about, and skipped by the agent.
   */
  readonly absentEquivalent?: string;
  /** Tighter bounds on older kernels. */
  readonly limits?: readonly KernelLimit[];
  /** Since when a network namespace has its own value. */
  readonly perNetnsSince?: VersionSpec;
  readonly netns: NetnsScope;
  /** The key exists only with this kernel module loaded. */
  readonly requiresModule?: string;
  /** Pods may set it themselves via securityContext.sysctls (kubelet safe list) from this Kubernetes version. */
  readonly kubeletSafeSince?: string;
  /**
   * The kubelet keeps the key on its safe list only on nodes with at least this kernel (where the key
   * is per network namespace); on older kernels a pod asking for it is refused.
   */
  readonly kubeletSafeKernel?: VersionSpec;
  readonly kubeletSafeKernelRef?: string;
  readonly hazards: readonly string[];
  readonly references: readonly Reference[];
  /** What the kernel accepts, per version span (see KernelBounds); newest first. */
  readonly kernel: readonly KernelBounds[];
  /** Why the grammar refuses values the kernel would take (absent: the grammar is the kernel's bounds). */
  readonly stricterThanKernel?: string;
}
