import type { PreparedNode } from "../node-facts.js";
import { requestedInt } from "../prepared-policy.js";
import type { Rule } from "../rule.js";
import { entryReport } from "../rule.js";

const SYNACK = "net.ipv4.tcp_synack_retries";
const COOKIES = "net.ipv4.tcp_syncookies";
const IP_SYSCTL = { title: "Documentation/networking/ip-sysctl.rst", url: "https://docs.kernel.org/networking/ip-sysctl.html" };

/** TT034: tcp_synack_retries=0 never retransmits a SYN-ACK: one lost SYN-ACK fails the handshake. */
export const synackRetriesZeroRule: Rule = {
  id: "TT034",
  name: "synack-retries-zero",
  severity: "warn",
  summary: "tcp_synack_retries=0 never retransmits a SYN-ACK, so one lost packet fails the handshake.",
  reference: { title: "net/ipv4/inet_connection_sock.c reqsk_timer_handler(): the request is dropped once its retransmissions reach tcp_synack_retries" },
  checkPolicy(policy, emit) {
    const e = policy.byName.get(SYNACK);
    if (!e || requestedInt(policy, SYNACK) !== 0) return;
    emit(
      entryReport(
        e,
        `${SYNACK}=0 never retransmits a SYN-ACK on the matched nodes: when one is lost, the half-open connection is dropped at its first timeout (1 s) and the client's connect() waits for its own SYN retry, or fails. Use at least 2 (the default is 5); to shed half-open connections under a SYN flood, rely on tcp_syncookies=1.`,
      ),
    );
  },
};

function internetFacing(node: PreparedNode): "yes" | "unknown" | "no" {
  const v = node.placement.internetFacing;
  return v === "true" ? "yes" : v === "false" ? "no" : "unknown";
}

/**
 * TT035: tcp_syncookies=0 leaves a listener defenceless against a SYN flood. Denied on nodes labelled
 * tcptuning.io/internet-facing=true, a warning where the label (or the cluster default) is missing,
 * silent on nodes declared internal (internet-facing=false).
 */
export const syncookiesOffRule: Rule = {
  id: "TT035",
  name: "syncookies-off-internet-facing",
  severity: "deny",
  summary: "tcp_syncookies=0 on a node that takes connections from the internet leaves it open to SYN floods.",
  reference: IP_SYSCTL,
  nodeCheckApplies: (policy) => requestedInt(policy, COOKIES) === 0,
  checkNode(policy, node, emit) {
    const e = policy.byName.get(COOKIES);
    if (!e || requestedInt(policy, COOKIES) !== 0) return;
    const facing = internetFacing(node);
    if (facing === "no") return;
    const fix = `Keep ${COOKIES}=1 (the default: cookies only when the SYN queue overflows).`;
    if (facing === "yes") {
      emit(
        entryReport(
          e,
          `${COOKIES}=0 on node ${node.name}, which takes connections from the internet (tcptuning.io/internet-facing=true): once a SYN flood fills a listener's SYN queue, every new connection is dropped. ${fix}`,
        ),
      );
    } else {
      emit(
        entryReport(
          e,
          `${COOKIES}=0 on node ${node.name}, which may take connections from the internet (no tcptuning.io/internet-facing label): a SYN flood that fills a listener's SYN queue drops every new connection. ${fix} If the node only serves internal traffic, label it tcptuning.io/internet-facing=false.`,
          { severity: "warn" },
        ),
      );
    }
  },
};
