/**
 * Node labels that declare a node's network placement (contract, section 2). A Helm value or the
 * CLI's --default-placement gives a cluster-wide default for unlabelled nodes; without one, an
 * unlabelled node's placement is unknown, and rules treat unknown as "may be behind NAT".
 */
export const NAT_LABEL = "tcptuning.io/nat";
export const LOAD_BALANCER_LABEL = "tcptuning.io/load-balancer";
export const TIMESTAMPS_LABEL = "tcptuning.io/tcp-timestamps";
/** "true": the node takes connections from the internet (directly or behind an L4 balancer); "false": only from inside. */
export const INTERNET_FACING_LABEL = "tcptuning.io/internet-facing";
/**
 * Seconds an idle TCP connection keeps its mapping in the NAT gateway or load balancer in front of the
 * node (AWS NAT gateway 350, Azure load balancer and NAT gateway 240 by default, GCP Cloud NAT 1200
 * for established TCP). A positive integer.
 */
export const NAT_IDLE_TIMEOUT_LABEL = "tcptuning.io/nat-idle-timeout-seconds";
/**
 * Which connections the node's own workloads make: "accepts" (servers only: they accept connections
 * and open none worth tuning), "opens" (clients only), "both".
 */
export const CONNECTIONS_LABEL = "tcptuning.io/connections";

export const NAT_VALUES = ["none", "inbound", "outbound", "both"] as const;
export const LOAD_BALANCER_VALUES = ["none", "snat", "dsr"] as const;
export const TIMESTAMPS_VALUES = ["preserved", "stripped"] as const;
export const INTERNET_FACING_VALUES = ["true", "false"] as const;
export const CONNECTIONS_VALUES = ["accepts", "opens", "both"] as const;

export type NatPlacement = (typeof NAT_VALUES)[number];
export type LoadBalancerPlacement = (typeof LOAD_BALANCER_VALUES)[number];
export type TimestampsPath = (typeof TIMESTAMPS_VALUES)[number];
export type InternetFacing = (typeof INTERNET_FACING_VALUES)[number];
export type ConnectionsRole = (typeof CONNECTIONS_VALUES)[number];

/** Every placement label, its values and what each says: the docs are generated from this list. */
export const PLACEMENT_LABELS: readonly { readonly label: string; readonly values: string; readonly defaultKey: string; readonly meaning: string }[] = [
  {
    label: NAT_LABEL,
    values: NAT_VALUES.join(", "),
    defaultKey: "nat",
    meaning:
      'inbound: connections that arrive may have been source-NATed (many clients share one address); outbound: the node\'s own connections leave through a NAT; unknown counts as "may be behind NAT"',
  },
  {
    label: LOAD_BALANCER_LABEL,
    values: LOAD_BALANCER_VALUES.join(", "),
    defaultKey: "load-balancer",
    meaning: "the node is a backend of an L4 load balancer; snat rewrites client addresses (same hazard as inbound NAT), dsr keeps them",
  },
  {
    label: TIMESTAMPS_LABEL,
    values: TIMESTAMPS_VALUES.join(", "),
    defaultKey: "tcp-timestamps",
    meaning: "whether middleboxes on the path keep the TCP timestamps option",
  },
  {
    label: INTERNET_FACING_LABEL,
    values: INTERNET_FACING_VALUES.join(", "),
    defaultKey: "internet-facing",
    meaning:
      "true: the node takes connections from the internet, directly or behind an L4 balancer; false: only from inside the network (TT035 denies tcp_syncookies=0 on true, warns when unknown)",
  },
  {
    label: CONNECTIONS_LABEL,
    values: CONNECTIONS_VALUES.join(", "),
    defaultKey: "connections",
    meaning: "accepts: the node's workloads only accept connections (servers); opens: they only open them; both (TT044 warns about tcp_tw_reuse=1 on accepts)",
  },
  {
    label: NAT_IDLE_TIMEOUT_LABEL,
    values: "a positive whole number of seconds",
    defaultKey: "nat-idle-timeout-seconds",
    meaning:
      "the idle timeout of the NAT gateway or load balancer in front of the node (AWS NAT gateway 350, Azure load balancer and NAT gateway 240, GCP Cloud NAT 1200); without it TT042 assumes 240, the shortest",
  },
];

/** The well-known OS label, used when status.nodeInfo.operatingSystem is missing. */
export const OS_LABEL = "kubernetes.io/os";
