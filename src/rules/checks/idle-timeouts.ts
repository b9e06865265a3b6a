import { NAT_IDLE_TIMEOUT_LABEL } from "../../api/v1alpha1/labels.js";
import type { PreparedNode } from "../node-facts.js";
import { requestedInt } from "../prepared-policy.js";
import type { Rule } from "../rule.js";
import { entryReport } from "../rule.js";

const KEEPALIVE = "net.ipv4.tcp_keepalive_time";
const CT_TIME_WAIT = "net.netfilter.nf_conntrack_tcp_timeout_time_wait";

/**
 * The idle timeout assumed for a node whose NAT or balancer is not declared: 240 s, Azure's default
 * for its load balancer and NAT gateway and the shortest of the documented cloud defaults (AWS NAT
 * gateway 350 s, GCP Cloud NAT 1200 s for established TCP). A keepalive below it is below them all.
 */
export const ASSUMED_IDLE_TIMEOUT_SECONDS = 240;
const CLOUD_DEFAULTS = "AWS NAT gateway 350 s, Azure load balancer and NAT gateway 240 s, GCP Cloud NAT 1200 s";

/** Whether connections of this node may cross a NAT or a balancer that forgets idle flows. */
function crossesStatefulMiddlebox(node: PreparedNode): boolean {
  const p = node.placement;
  if (p.natIdleTimeoutSeconds !== undefined) return true;
  return p.nat !== "none" || p.loadBalancer === "snat" || p.loadBalancer === "dsr";
}

/**
 * TT042: a keepalive that first probes after the NAT or balancer in front of the node has already
 * forgotten the idle connection cannot keep it alive: the next packet meets no mapping (an RST, or
 * silence until tcp_retries2 gives up). The timeout comes from tcptuning.io/nat-idle-timeout-seconds
 * or the cluster default; without either, 240 s is assumed.
 */
export const keepaliveAboveIdleTimeoutRule: Rule = {
  id: "TT042",
  name: "keepalive-above-idle-timeout",
  severity: "warn",
  summary: "tcp_keepalive_time at or above the idle timeout of the NAT or load balancer in front of the node.",
  reference: { title: `Cloud NAT and load-balancer idle timeouts (${CLOUD_DEFAULTS}); tcp_keepalive_time in Documentation/networking/ip-sysctl.rst` },
  nodeCheckApplies: (policy) => (requestedInt(policy, KEEPALIVE) ?? 0) >= 1,
  checkNode(policy, node, emit) {
    const v = requestedInt(policy, KEEPALIVE);
    const e = policy.byName.get(KEEPALIVE);
    if (v === undefined || !e || !crossesStatefulMiddlebox(node)) return;
    const declared = node.placement.natIdleTimeoutSeconds;
    const timeout = declared ?? ASSUMED_IDLE_TIMEOUT_SECONDS;
    if (v < timeout) return;
    const where =
      declared !== undefined
        ? `the idle timeout of the NAT or load balancer in front of it is ${declared} s (${NAT_IDLE_TIMEOUT_LABEL} or the cluster default)`
        : `its NAT or load balancer idle timeout is not declared, and ${ASSUMED_IDLE_TIMEOUT_SECONDS} s, the shortest cloud default (${CLOUD_DEFAULTS}), is assumed`;
    emit(
      entryReport(
        e,
        `${KEEPALIVE}=${v} on node ${node.name}: ${where}, so an idle connection is forgotten before its first keepalive probe and its next packet meets no mapping. Use a value below ${timeout} (e.g. ${Math.max(1, Math.floor(timeout * 0.8))}), or set ${NAT_IDLE_TIMEOUT_LABEL} to the real timeout.`,
      ),
    );
  },
};

/**
 * TT043: conntrack TIME_WAIT entries shorter than TCP's own 60 s on a node that NATs let a new
 * connection take a mapping (the same translated 4-tuple) while the far end still holds TIME_WAIT for
 * the old one, which then answers with an ACK or RST instead of a SYN-ACK. In Kubernetes every node
 * NATs pod traffic (kube-proxy or CNI masquerade) unless tcptuning.io/nat=none says otherwise.
 */
export const conntrackTimeWaitShortRule: Rule = {
  id: "TT043",
  name: "conntrack-time-wait-short-on-nat",
  severity: "warn",
  summary: "nf_conntrack_tcp_timeout_time_wait below TCP's 60 s TIME_WAIT on a node that NATs.",
  reference: { title: "include/net/tcp.h TCP_TIMEWAIT_LEN (60 s); net/netfilter/nf_conntrack_proto_tcp.c tcp_timeouts[TCP_CONNTRACK_TIME_WAIT] = 2 MINS" },
  nodeCheckApplies: (policy) => (requestedInt(policy, CT_TIME_WAIT) ?? 60) < 60,
  checkNode(policy, node, emit) {
    const v = requestedInt(policy, CT_TIME_WAIT);
    const e = policy.byName.get(CT_TIME_WAIT);
    if (v === undefined || !e || v >= 60 || node.placement.nat === "none") return;
    const why =
      node.placement.nat === "unknown"
        ? "its NAT placement is unknown, and Kubernetes nodes masquerade pod traffic (kube-proxy, CNI)"
        : `it NATs (tcptuning.io/nat=${node.placement.nat})`;
    emit(
      entryReport(
        e,
        `${CT_TIME_WAIT}=${v} on node ${node.name}, where ${why}: a closed connection's mapping is forgotten after ${v} s while the peer keeps TIME_WAIT for 60 s, so a new connection given the same translated ports meets the old TIME_WAIT and fails. Use 60 or more (the default is 120).`,
      ),
    );
  },
};
