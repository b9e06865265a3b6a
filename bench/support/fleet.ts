import type { NodeInput } from "../../src/rules/index.js";
import { seeded } from "../../test/support/seeded.js";

/**
 * A synthetic fleet and policies for the benchmarks: a realistic mix of kernels, placements, selectors
 * and sysctls (good and bad), deterministic for a seed, so every run judges the same fleet.
 */

/** A fleet generator for a seed: makeNode(i) and makePolicy(i) draw from one deterministic stream. */
export function syntheticFleet(seed: number): { makeNode: (i: number) => NodeInput; makePolicy: (i: number) => unknown } {
  const random = seeded(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  /** Picks by weight: [[weight, value], ...]. */
  function weighted<T>(items: readonly (readonly [number, T])[]): T {
    const total = items.reduce((s, [w]) => s + w, 0);
    let r = random() * total;
    for (const [w, v] of items) {
      r -= w;
      if (r < 0) return v;
    }
    return (items[items.length - 1] as readonly [number, T])[1];
  }

  // Kernels as nodeInfo.kernelVersion prints them, weighted roughly like a mixed fleet of today.
  const KERNELS: readonly (readonly [number, string])[] = [
    [2, "3.10.0-1160.el7.x86_64"],
    [2, "4.4.0-210-generic"],
    [3, "4.9.0-19-amd64"],
    [3, "4.14.355-275.570.amzn2.x86_64"],
    [8, "4.18.0-553.el8_10.x86_64"],
    [6, "5.4.0-200-generic"],
    [10, "5.10.228-219.884.amzn2.x86_64"],
    [8, "5.14.0-427.37.1.el9_4.x86_64"],
    [15, "5.15.0-1057-aws"],
    [15, "6.1.100+"],
    [8, "6.6.54-flatcar"],
    [8, "6.8.0-1015-gcp"],
    [4, "6.12.10-talos"],
    [3, "6.14.3-300.fc42.x86_64"],
    [1, "6.15.0-rc3"],
  ];
  const TIERS = ["app", "edge", "ingress", "batch", "db", "gpu"] as const;
  const ZONES = ["eu-west-1a", "eu-west-1b", "eu-west-1c", "us-east-1a", "us-east-1b"] as const;

  function makeNode(i: number): NodeInput {
    const windows = random() < 0.02;
    const tier = pick(TIERS);
    const labels: Record<string, string> = {
      "kubernetes.io/hostname": `node-${i}`,
      "kubernetes.io/os": windows ? "windows" : "linux",
      "kubernetes.io/arch": random() < 0.2 ? "arm64" : "amd64",
      "topology.kubernetes.io/zone": pick(ZONES),
      "node.kubernetes.io/instance-type": pick(["m6i.xlarge", "c7g.2xlarge", "n2-standard-8", "r6i.4xlarge"]),
      tier,
    };
    if (tier === "ingress" || tier === "edge") labels["node-role.kubernetes.io/ingress"] = "";
    // A third of the fleet declares no placement at all ("unknown": may be behind NAT).
    if (random() < 0.67) {
      labels["tcptuning.io/nat"] = weighted([
        [5, "none"],
        [2, "inbound"],
        [2, "outbound"],
        [1, "both"],
      ]);
      if (random() < 0.5)
        labels["tcptuning.io/load-balancer"] = weighted([
          [4, "none"],
          [2, "snat"],
          [2, "dsr"],
        ]);
      if (random() < 0.3)
        labels["tcptuning.io/tcp-timestamps"] = weighted([
          [9, "preserved"],
          [1, "stripped"],
        ]);
    }
    if (random() < 0.01) labels["tcptuning.io/nat"] = "sometimes"; // an invalid label value now and then
    return {
      name: `node-${i}`,
      labels,
      operatingSystem: windows ? "windows" : "linux",
      kernelVersion: windows ? "10.0.20348.2655" : weighted(KERNELS),
    };
  }

  // What people put in policies: mostly sound tuning, some myths, some mistakes.
  const ENTRIES: readonly (readonly [number, { name: string; value: string }])[] = [
    [10, { name: "net.ipv4.tcp_tw_reuse", value: "1" }],
    [3, { name: "net.ipv4.tcp_tw_reuse", value: "2" }],
    [6, { name: "net.ipv4.ip_local_port_range", value: "10240 65000" }],
    [3, { name: "net.ipv4.ip_local_port_range", value: "32768 60999" }],
    [2, { name: "net.ipv4.ip_local_reserved_ports", value: "30000-32767" }],
    [8, { name: "net.core.somaxconn", value: "4096" }],
    [2, { name: "net.core.somaxconn", value: "131072" }],
    [5, { name: "net.ipv4.tcp_max_syn_backlog", value: "8192" }],
    [6, { name: "net.ipv4.tcp_keepalive_time", value: "300" }],
    [5, { name: "net.ipv4.tcp_keepalive_intvl", value: "30" }],
    [5, { name: "net.ipv4.tcp_keepalive_probes", value: "5" }],
    [5, { name: "net.ipv4.tcp_fin_timeout", value: "15" }],
    [3, { name: "net.ipv4.tcp_max_tw_buckets", value: "2000" }],
    [4, { name: "net.ipv4.tcp_rmem", value: "4096 131072 16777216" }],
    [4, { name: "net.ipv4.tcp_wmem", value: "4096 65536 16777216" }],
    [3, { name: "net.ipv4.tcp_syn_retries", value: "3" }],
    [2, { name: "net.ipv4.tcp_synack_retries", value: "2" }],
    [2, { name: "net.ipv4.tcp_retries2", value: "5" }],
    [3, { name: "net.ipv4.tcp_timestamps", value: "1" }],
    [1, { name: "net.ipv4.tcp_timestamps", value: "0" }],
    [1, { name: "net.ipv4.tcp_timestamps", value: "2" }],
    [2, { name: "net.ipv4.tcp_tw_recycle", value: "1" }],
    [1, { name: "net.ipv4.tcp_tw_reuse_delay", value: "500" }],
    [2, { name: "net.ipv4.tcp_syncookies", value: "1" }],
    [1, { name: "net.ipv4.tcp_rfc1337", value: "1" }],
    [2, { name: "net.netfilter.nf_conntrack_max", value: "1048576" }],
    [1, { name: "net.netfilter.nf_conntrack_tcp_timeout_time_wait", value: "30" }],
    [1, { name: "net.ipv4.tcp_fin_timout", value: "30" }], // misspelled
    [1, { name: "vm.swappiness", value: "10" }], // out of scope
    [1, { name: "net.ipv4.tcp_syn_retries", value: "128" }], // out of range
  ];

  function makePolicy(i: number): unknown {
    const count = 1 + Math.floor(random() * 6);
    const sysctls: { name: string; value: string }[] = [];
    for (let k = 0; k < count; k++) {
      const e = weighted(ENTRIES);
      if (!sysctls.some((s) => s.name === e.name)) sysctls.push(e);
    }
    const nodeSelector = weighted<object>([
      [3, {}],
      [4, { matchLabels: { tier: pick(TIERS) } }],
      [1, { matchLabels: { tier: pick(TIERS), "topology.kubernetes.io/zone": pick(ZONES) } }],
      [1, { matchExpressions: [{ key: "tier", operator: "In", values: [pick(TIERS), pick(TIERS)] }] }],
      [
        1,
        {
          matchExpressions: [
            { key: "node-role.kubernetes.io/ingress", operator: "Exists" },
            { key: "kubernetes.io/arch", operator: "NotIn", values: ["arm64"] },
          ],
        },
      ],
    ]);
    return {
      apiVersion: "tcptuning.io/v1alpha1",
      kind: "TcpTuningPolicy",
      metadata: { name: `policy-${i}` },
      spec: { nodeSelector, sysctls, priority: Math.floor(random() * 200), mode: random() < 0.2 ? "DryRun" : "Enforce" },
    };
  }
  return { makeNode, makePolicy };
}
