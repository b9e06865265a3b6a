import { Counter, Gauge, type Registry } from "prom-client";
import type { KeyResult, TcpCounters } from "../api/v1alpha1/node-state.js";

/** The kernel's TCP counters the agent samples: status field -> metric. */
const TCP_COUNTERS = [
  ["twRecycled", "tcptuning_agent_tcp_tw_recycled_total", "TcpExt.TWRecycled: TIME_WAIT sockets recycled (tcp_tw_recycle, kernels before 4.12)."],
  ["pawsActive", "tcptuning_agent_tcp_paws_active_rejected_total", "TcpExt.PAWSActive: active connections rejected because of a timestamp."],
  ["pawsEstab", "tcptuning_agent_tcp_paws_established_rejected_total", "TcpExt.PAWSEstab: packets dropped on established connections because of a timestamp."],
  [
    "pawsPassive",
    "tcptuning_agent_tcp_paws_passive_rejected_total",
    "TcpExt.PAWSPassive: passive connections rejected because of a timestamp (clients behind NAT with tcp_tw_recycle).",
  ],
  [
    "tcpTimeWaitOverflow",
    "tcptuning_agent_tcp_time_wait_overflow_total",
    "TcpExt.TCPTimeWaitOverflow: TIME_WAIT sockets not created because tcp_max_tw_buckets was reached.",
  ],
] as const satisfies readonly (readonly [keyof TcpCounters, string, string])[];

/** What the node agent exports; every series carries the node's name. */
export class AgentMetrics {
  readonly keyResults: Counter<"node" | "result">;
  readonly restores: Counter<"node" | "result">;
  readonly driftCorrections: Counter<"node">;
  readonly passes: Counter<"node" | "outcome">;
  readonly statusWrites: Counter<"node" | "outcome">;
  readonly timeWait: Gauge<"node">;
  private readonly kernelCounters: Counter<"node">[] = [];
  private counters: TcpCounters | undefined;

  constructor(
    registry: Registry,
    private readonly node: string,
  ) {
    this.keyResults = new Counter({
      name: "tcptuning_agent_apply_results_total",
      help: "Desired keys handled by a pass, by result (Applied, Failed, Refused, Skipped, RolledBack, Pending).",
      labelNames: ["node", "result"],
      registers: [registry],
    });
    this.restores = new Counter({
      name: "tcptuning_agent_restore_results_total",
      help: "Keys no longer desired put back to their original value, by result (Restored, RestoreFailed).",
      labelNames: ["node", "result"],
      registers: [registry],
    });
    this.driftCorrections = new Counter({
      name: "tcptuning_agent_drift_corrections_total",
      help: "Keys someone else changed that the agent re-applied.",
      labelNames: ["node"],
      registers: [registry],
    });
    this.passes = new Counter({
      name: "tcptuning_agent_passes_total",
      help: "Reconcile passes, by outcome (applied, incomplete, error).",
      labelNames: ["node", "outcome"],
      registers: [registry],
    });
    this.statusWrites = new Counter({
      name: "tcptuning_agent_status_writes_total",
      help: "TcpTuningNodeState status writes, by outcome (ok, error).",
      labelNames: ["node", "outcome"],
      registers: [registry],
    });
    const self = this;
    this.timeWait = new Gauge({
      name: "tcptuning_agent_tcp_time_wait_sockets",
      help: "Sockets in TIME_WAIT in the agent's network namespace (sockstat TCP tw), at the last sample.",
      labelNames: ["node"],
      registers: [registry],
      collect() {
        const v = self.counters?.timeWait;
        if (v !== undefined) this.set({ node: self.node }, Number(v));
      },
    });
    for (const [field, name, help] of TCP_COUNTERS) {
      this.kernelCounters.push(
        new Counter({
          name,
          help: `${help} Sampled from the kernel at each status write.`,
          labelNames: ["node"],
          registers: [registry],
          collect() {
            const v = self.counters?.[field];
            if (v === undefined) return;
            // The kernel keeps the count; mirror it (a counter that only the kernel increments).
            this.reset();
            this.inc({ node: self.node }, Number(v));
          },
        }),
      );
    }
  }

  /** A pass's key results: desired keys by result, restored keys as restore results. */
  recordKeys(keys: readonly KeyResult[]): void {
    for (const k of keys) {
      if (k.result === "Restored" || k.result === "RestoreFailed") this.restores.inc({ node: this.node, result: k.result });
      else this.keyResults.inc({ node: this.node, result: k.result });
    }
  }

  recordTcpCounters(counters: TcpCounters | undefined): void {
    this.counters = counters;
  }
}
