/** Node labels that declare a node's network placement (contract, section 2). */
export const NAT_LABEL = "tcptuning.io/nat";
export const LOAD_BALANCER_LABEL = "tcptuning.io/load-balancer";
export const TIMESTAMPS_LABEL = "tcptuning.io/tcp-timestamps";

export const NAT_VALUES = ["none", "inbound", "outbound", "both"] as const;
export const LOAD_BALANCER_VALUES = ["none", "snat", "dsr"] as const;
export const TIMESTAMPS_VALUES = ["preserved", "stripped"] as const;

export type NatPlacement = (typeof NAT_VALUES)[number];
export type LoadBalancerPlacement = (typeof LOAD_BALANCER_VALUES)[number];
export type TimestampsPath = (typeof TIMESTAMPS_VALUES)[number];

/** The well-known OS label, used when status.nodeInfo.operatingSystem is missing. */
export const OS_LABEL = "kubernetes.io/os";
