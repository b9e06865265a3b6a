import { requestedInt } from "../prepared-policy.js";
import type { Rule } from "../rule.js";
import { entryReport } from "../rule.js";

const RETRIES2 = "net.ipv4.tcp_retries2";

/**
 * Seconds before an established connection is given up: the kernel models the timeout as exponential
 * backoff from TCP_RTO_MIN (200 ms), doubling up to TCP_RTO_MAX (120 s) (tcp_model_timeout); for the
 * values this rule fires on (below 8) the doubling never reaches the cap: (2^(n+1) - 1) * 0.2 s.
 */
export function retries2Seconds(n: number): number {
  return (2 ** (n + 1) - 1) * 0.2;
}

function seconds(t: number): string {
  return t < 10 ? t.toFixed(1) : String(Math.round(t));
}

/** TT033: tcp_retries2 below 8 gives up on established connections too early (RFC 1122 wants >= 100 s). */
export const lowRetries2Rule: Rule = {
  id: "TT033",
  name: "retries2-low",
  severity: "warn",
  summary: "tcp_retries2 below 8 breaks connections on lossy paths.",
  reference: { title: "RFC 1122 section 4.2.3.5", url: "https://www.rfc-editor.org/rfc/rfc1122#section-4.2.3.5" },
  checkPolicy(policy, emit) {
    const v = requestedInt(policy, RETRIES2);
    const e = policy.byName.get(RETRIES2);
    if (v === undefined || !e || v >= 8) return;
    emit(
      entryReport(
        e,
        `${RETRIES2}=${v} gives up on an established connection after about ${seconds(retries2Seconds(v))} s of unanswered retransmissions; RFC 1122 asks for at least 100 s and values below 8 break on lossy paths. Use 8 or more (the default 15 is about 924 s).`,
      ),
    );
  },
};
