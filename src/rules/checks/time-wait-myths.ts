import { lookupSysctl } from "../catalog.js";
import { requestedInt } from "../prepared-policy.js";
import type { Rule } from "../rule.js";
import { entryReport } from "../rule.js";

const FIN = "net.ipv4.tcp_fin_timeout";
const BUCKETS = "net.ipv4.tcp_max_tw_buckets";
const DELAY = "net.ipv4.tcp_tw_reuse_delay";
const TCP_H = { title: "include/net/tcp.h: #define TCP_TIMEWAIT_LEN (60*HZ)" };

/** TT030: tcp_fin_timeout is lowered as if it shortened TIME_WAIT; it does not. */
export const finTimeoutMythRule: Rule = {
  id: "TT030",
  name: "fin-timeout-does-not-shorten-time-wait",
  severity: "warn",
  summary: "tcp_fin_timeout only bounds orphaned FIN_WAIT2; TIME_WAIT stays 60 s.",
  reference: TCP_H,
  checkPolicy(policy, emit) {
    const v = requestedInt(policy, FIN);
    const e = policy.byName.get(FIN);
    if (v === undefined || !e || v >= 60) return;
    emit(
      entryReport(
        e,
        `${FIN}=${v} does not shorten TIME_WAIT: TIME_WAIT is fixed at 60 s (TCP_TIMEWAIT_LEN), and this key only bounds orphaned FIN_WAIT2 sockets. Leave it at 60 unless orphaned FIN_WAIT2 sockets are the problem; for TIME_WAIT, use net.ipv4.tcp_tw_reuse=1 on the connecting side or widen ip_local_port_range.`,
      ),
    );
  },
};

/** Below this many TIME_WAIT buckets, a busy node overflows and skips TIME_WAIT. */
export const SMALL_TW_BUCKETS = 16384;

/** TT031: a very small tcp_max_tw_buckets makes closes skip TIME_WAIT. */
export const smallTwBucketsRule: Rule = {
  id: "TT031",
  name: "tw-buckets-small",
  severity: "warn",
  summary: "A very small tcp_max_tw_buckets makes closing sockets skip TIME_WAIT.",
  reference: lookupSysctl(BUCKETS)?.references[0] ?? TCP_H,
  checkPolicy(policy, emit) {
    const v = requestedInt(policy, BUCKETS);
    const e = policy.byName.get(BUCKETS);
    if (v === undefined || !e || v >= SMALL_TW_BUCKETS) return;
    emit(
      entryReport(
        e,
        `${BUCKETS}=${v} is very small: beyond ${v} TIME_WAIT sockets new closes skip TIME_WAIT (TCPTimeWaitOverflow counts them) and old duplicate segments can reach new connections. Leave the default (ehash/2, up to 262144) unless memory forces it.`,
      ),
    );
  },
};

/** TT032: tcp_tw_reuse_delay shorter than a peer's timestamp tick defeats PAWS. */
export const shortReuseDelayRule: Rule = {
  id: "TT032",
  name: "tw-reuse-delay-short",
  severity: "warn",
  summary: "tcp_tw_reuse_delay below the 1000 ms default.",
  reference: lookupSysctl(DELAY)?.references[0] ?? TCP_H,
  checkPolicy(policy, emit) {
    const v = requestedInt(policy, DELAY);
    const e = policy.byName.get(DELAY);
    if (v === undefined || !e || v >= 1000) return;
    emit(
      entryReport(
        e,
        `${DELAY}=${v} ms reuses TIME_WAIT sooner than the 1000 ms default: if it is shorter than a peer's timestamp clock tick, PAWS can no longer reject old duplicate segments. Keep it at or above the slowest peer's tick (Linux 1 ms; other stacks up to 10 ms or more).`,
      ),
    );
  },
};
