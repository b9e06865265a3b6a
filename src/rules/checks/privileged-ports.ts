import { requestedInt } from "../prepared-policy.js";
import type { Rule } from "../rule.js";
import { entryReport } from "../rule.js";

const UNPRIV = "net.ipv4.ip_unprivileged_port_start";
const DEFAULT_START = 1024;

/**
 * TT024: ip_unprivileged_port_start=0 lets any process bind any port (22, 443); raised above 1024 it
 * makes non-root listeners on the ports below it fail to bind. inet_port_requires_bind_service()
 * (include/net/ip.h) asks for CAP_NET_BIND_SERVICE below the start.
 */
export const unprivilegedPortStartRule: Rule = {
  id: "TT024",
  name: "unprivileged-port-start-unusual",
  severity: "warn",
  summary: "ip_unprivileged_port_start=0 lets any process bind privileged ports; above 1024 it breaks non-root listeners.",
  reference: {
    title: "include/net/ip.h inet_port_requires_bind_service(): ports below ip_unprivileged_port_start need CAP_NET_BIND_SERVICE (4548b683b781, 4.11)",
  },
  checkPolicy(policy, emit) {
    const v = requestedInt(policy, UNPRIV);
    const e = policy.byName.get(UNPRIV);
    if (v === undefined || !e) return;
    if (v === 0) {
      emit(
        entryReport(
          e,
          `${UNPRIV}=0 lets any process on every matched node bind any port, 22 and 443 included, so an unprivileged process can take a service's port before it starts. Lower it only as far as needed (e.g. 80 for a non-root web server), or give that process CAP_NET_BIND_SERVICE instead.`,
        ),
      );
    } else if (v > DEFAULT_START) {
      emit(
        entryReport(
          e,
          `${UNPRIV}=${v} makes ports ${DEFAULT_START}-${v - 1} privileged on every matched node: non-root processes that listen there (8080, 8443, 9090 and the like) fail to bind with EACCES. Keep the default ${DEFAULT_START} unless you know no non-root listener uses those ports.`,
        ),
      );
    }
  },
};
