import { z } from "zod";

/**
 * The TCP counters the rollout's health gate reads, shared by the node state (the agent's samples)
 * and the policy's rollout status (each wave's baseline). No other API import: both import this.
 */

/** The counters the rollout's health gate compares (cumulative since boot), as decimal strings. */
export const healthCounterFields = {
  listenOverflows: z.string().optional().describe("TcpExt ListenOverflows: a full accept queue dropped a connection."),
  listenDrops: z.string().optional().describe("TcpExt ListenDrops: SYNs dropped by a listener for any reason."),
  tcpAbortOnTimeout: z.string().optional().describe("TcpExt TCPAbortOnTimeout: connections aborted after too many retransmissions."),
  attemptFails: z.string().optional().describe("Tcp AttemptFails (/proc/net/snmp): failed connection attempts."),
  activeOpens: z.string().optional().describe("Tcp ActiveOpens (/proc/net/snmp): connection attempts, to put failures in proportion."),
};
export const HEALTH_COUNTERS = ["listenOverflows", "listenDrops", "tcpAbortOnTimeout", "attemptFails"] as const;
export type HealthCounter = (typeof HEALTH_COUNTERS)[number];

/** One sample of the health counters, kept in a short history so a rate before a change can be read after it. */
export const counterSampleSchema = z.object({
  sampledAt: z.string(),
  bootId: z.string().max(64).optional().describe("The kernel's boot id: counters restart from 0 at boot."),
  ...healthCounterFields,
});
export type CounterSample = z.infer<typeof counterSampleSchema>;
export const COUNTER_HISTORY_MAX = 12;
