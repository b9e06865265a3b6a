import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import { DURATION_BUCKETS } from "./registry.js";

/** What the webhook exports. Outcomes are admission.ts's Outcome plus "bad-request" and "error". */
export class WebhookMetrics {
  readonly requestDuration: Histogram<"outcome">;
  readonly admissions: Counter<"outcome">;
  readonly findings: Counter<"rule" | "severity">;
  readonly certificateExpiry: Gauge<"certificate">;
  readonly nodes: Gauge;
  readonly nodeClasses: Gauge;

  /**
   * `cache` gives the node counts and `certificates` the PEMs in use (serving and CA) at scrape time;
   * `expiryOf` reads a PEM's notAfter.
   */
  /** A judged policy's findings, one count per kind (rule, severity, sysctl), as the messages group them. */
  recordFindings(kinds: readonly { readonly rule: string; readonly severity: string }[]): void {
    for (const k of kinds) this.findings.inc({ rule: k.rule, severity: k.severity });
  }

  constructor(
    registry: Registry,
    sources: {
      readonly cache?: { readonly size: number; readonly classCount: number };
      readonly certificates?: () => { readonly serving?: string; readonly ca?: string } | undefined;
      readonly expiryOf?: (pem: string) => Date;
    } = {},
  ) {
    const { cache, certificates, expiryOf } = sources;
    this.requestDuration = new Histogram({
      name: "tcptuning_webhook_request_duration_seconds",
      help: "Admission request duration from the request's arrival in the handler until the reply is handed to the socket, by outcome.",
      labelNames: ["outcome"],
      buckets: DURATION_BUCKETS,
      registers: [registry],
    });
    this.admissions = new Counter({
      name: "tcptuning_webhook_admissions_total",
      help: "Admission requests answered, by outcome.",
      labelNames: ["outcome"],
      registers: [registry],
    });
    this.findings = new Counter({
      name: "tcptuning_webhook_findings_total",
      help: "Kinds of finding in judged policies (one per rule, severity and sysctl per request), by rule and severity.",
      labelNames: ["rule", "severity"],
      registers: [registry],
    });
    this.certificateExpiry = new Gauge({
      name: "tcptuning_webhook_certificate_expiry_timestamp_seconds",
      help: "When the certificate expires, in Unix seconds: the serving certificate and the newest CA.",
      labelNames: ["certificate"],
      registers: [registry],
      collect() {
        const pems = certificates?.();
        if (!pems || !expiryOf) return;
        for (const [certificate, pem] of Object.entries(pems)) if (pem) this.set({ certificate }, expiryOf(pem).getTime() / 1000);
      },
    });
    this.nodes = new Gauge({
      name: "tcptuning_webhook_cached_nodes",
      help: "Nodes in the webhook's node cache.",
      registers: [registry],
      collect() {
        if (cache) this.set(cache.size);
      },
    });
    this.nodeClasses = new Gauge({
      name: "tcptuning_webhook_node_classes",
      help: "Distinct classes of node facts (OS, kernel, probe, placement): what an admission's judging cost grows with.",
      registers: [registry],
      collect() {
        if (cache) this.set(cache.classCount);
      },
    });
  }
}
