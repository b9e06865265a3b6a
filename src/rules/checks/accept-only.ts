import { CONNECTIONS_LABEL } from "../../api/v1alpha1/labels.js";
import { requestedInt } from "../prepared-policy.js";
import type { Rule } from "../rule.js";
import { entryReport } from "../rule.js";

const REUSE = "net.ipv4.tcp_tw_reuse";

/**
 * TT044: tcp_tw_reuse only lets connect() take a port held by a TIME_WAIT socket
 * (tcp_twsk_unique(), net/ipv4/tcp_ipv4.c); it does nothing for accepted connections. On a node whose
 * workloads only accept connections (tcptuning.io/connections=accepts) it has no effect, and the
 * TIME_WAIT a server collects from closing first is not shortened by it.
 */
export const twReuseOnAcceptOnlyRule: Rule = {
  id: "TT044",
  name: "tw-reuse-on-accept-only-node",
  severity: "warn",
  summary: "tcp_tw_reuse=1 on a node whose workloads only accept connections: reuse applies to outgoing connections only.",
  reference: { title: "net/ipv4/tcp_ipv4.c tcp_twsk_unique(): called from __inet_hash_connect() for connect() only" },
  nodeCheckApplies: (policy) => requestedInt(policy, REUSE) === 1,
  checkNode(policy, node, emit) {
    const e = policy.byName.get(REUSE);
    if (!e || requestedInt(policy, REUSE) !== 1 || node.placement.connections !== "accepts") return;
    emit(
      entryReport(
        e,
        `${REUSE}=1 on node ${node.name} does nothing: its workloads only accept connections (${CONNECTIONS_LABEL}=accepts), and reuse applies only when connect() picks a local port. The TIME_WAIT sockets a server holds come from closing first. Leave ${REUSE} at the default 2 and let clients close first; if the node also opens connections (to a database, upstreams), label it ${CONNECTIONS_LABEL}=both.`,
      ),
    );
  },
};
