import fc from "fast-check";
import { catalogNames, type NodeInput } from "../../../src/rules/index.js";

/** fast-check generators of engine input, shared by the property tests. */

/** Strings a user or an attacker might put anywhere: real keys, near misses, paths, prototype names, noise. */
export const nameArb = fc.oneof(
  fc.constantFrom(...catalogNames()),
  fc.constantFrom("net.ipv4.tcp_fin_timout", "vm.swappiness", "net/ipv4/tcp_tw_reuse", "net.ipv4..x", "net.ipv4.*", "__proto__", "constructor", "", " "),
  fc.string().map((s) => `net.ipv4.${s}`),
  fc.string(),
);
export const valueArb = fc.oneof(
  fc.integer({ min: -70000, max: 70000 }).map(String),
  fc.tuple(fc.integer({ min: -1, max: 70000 }), fc.integer({ min: -1, max: 70000 })).map(([a, b]) => `${a}${"\t "[a & 1]}${b}`),
  fc.tuple(fc.nat(), fc.nat(), fc.nat()).map(([a, b, c]) => `${a} ${b} ${c}`),
  fc.array(fc.integer({ min: 0, max: 70000 }), { maxLength: 4 }).map((a) => a.join(",")),
  fc.constantFrom("010", "08", "-0", "0x10", "1e3", "99999999999999999999999", "", "  "),
  fc.string(),
);
export const labelKeyArb = fc.oneof(
  fc.constantFrom(
    "tier",
    "tcptuning.io/nat",
    "tcptuning.io/load-balancer",
    "tcptuning.io/tcp-timestamps",
    "kubernetes.io/os",
    "constructor",
    "__proto__",
    "toString",
  ),
  fc.string(),
);
export const labelValueArb = fc.oneof(
  fc.constantFrom("edge", "app", "none", "inbound", "outbound", "both", "snat", "dsr", "stripped", "preserved", "linux", "windows", ""),
  fc.string(),
);
export const labelsArb = fc.dictionary(labelKeyArb, labelValueArb, { maxKeys: 5 });
export const kernelArb = fc.oneof(
  fc.constantFrom(
    "5.15.0-1057-aws",
    "4.18.0-553.el8_10.x86_64",
    "6.1.100+",
    "6.6.43-talos",
    "6.12.0-rc3",
    "3.10.0-1160.119.1.el7.x86_64",
    "4.4.0-210-generic",
    "4.11.12-200.fc25.x86_64",
    "6.14.3",
    "10.0.17763.6414",
  ),
  fc.tuple(fc.nat(12), fc.nat(40), fc.nat(300), fc.string()).map(([a, b, c, s]) => `${a}.${b}.${c}${s}`),
  fc.string(),
);

export const selectorArb = fc.oneof(
  fc.anything(),
  fc.record(
    {
      matchLabels: fc.oneof(labelsArb, fc.anything()),
      matchExpressions: fc.array(
        fc.record(
          {
            key: labelKeyArb,
            operator: fc.oneof(fc.constantFrom("In", "NotIn", "Exists", "DoesNotExist"), fc.string()),
            values: fc.oneof(fc.array(labelValueArb, { maxLength: 3 }), fc.anything()),
          },
          { requiredKeys: ["key", "operator"] },
        ),
        { maxLength: 3 },
      ),
    },
    { requiredKeys: [] },
  ),
);

export const entryArb = fc.oneof(
  { weight: 8, arbitrary: fc.record({ name: nameArb, value: valueArb }) },
  { weight: 1, arbitrary: fc.anything() },
  { weight: 1, arbitrary: fc.record({ name: fc.anything(), value: fc.anything() }) },
);

/** Documents shaped like a TcpTuningPolicy, most of the way or not at all. */
export const policyArb = fc.oneof(
  { weight: 1, arbitrary: fc.anything() },
  {
    weight: 9,
    arbitrary: fc.record(
      {
        apiVersion: fc.constantFrom("tcptuning.io/v1alpha1", "v1"),
        kind: fc.constantFrom("TcpTuningPolicy", "Node"),
        metadata: fc.oneof(fc.record({ name: fc.string() }), fc.anything()),
        spec: fc.oneof(
          {
            weight: 9,
            arbitrary: fc.record(
              {
                nodeSelector: selectorArb,
                sysctls: fc.array(entryArb, { maxLength: 6 }),
                priority: fc.oneof(fc.integer(), fc.anything()),
                mode: fc.oneof(fc.constantFrom("Enforce", "DryRun"), fc.string()),
              },
              { requiredKeys: ["sysctls"] },
            ),
          },
          { weight: 1, arbitrary: fc.anything() },
        ),
      },
      { requiredKeys: ["metadata", "spec"] },
    ),
  },
);

export const nodeArb: fc.Arbitrary<NodeInput> = fc.record(
  {
    name: fc.string({ minLength: 1 }),
    labels: labelsArb,
    operatingSystem: fc.constantFrom("linux", "windows", "Linux", ""),
    kernelVersion: kernelArb,
    probe: fc.record({
      kernelRelease: fc.oneof(kernelArb, fc.constant("")),
      probedAt: fc.constant("2026-01-01T00:00:00Z"),
      keys: fc.array(
        fc.record(
          { name: fc.oneof(fc.constantFrom(...catalogNames()), fc.string()), present: fc.boolean(), value: valueArb },
          { requiredKeys: ["name", "present"] },
        ),
        { maxLength: 4 },
      ),
    }),
  },
  { requiredKeys: ["name", "labels"] },
);
