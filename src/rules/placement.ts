import {
  LOAD_BALANCER_LABEL,
  LOAD_BALANCER_VALUES,
  NAT_LABEL,
  NAT_VALUES,
  TIMESTAMPS_LABEL,
  TIMESTAMPS_VALUES,
  type LoadBalancerPlacement,
  type NatPlacement,
  type TimestampsPath,
} from "../api/v1alpha1/labels.js";
import { labelValue } from "./label-selector.js";

/** A node's network placement as its labels declare it; "unknown" when undeclared or unreadable. */
export interface Placement {
  readonly nat: NatPlacement | "unknown";
  readonly loadBalancer: LoadBalancerPlacement | "unknown";
  readonly timestamps: TimestampsPath | "unknown";
  /** Labels present with a value outside the contract: label -> value. */
  readonly invalidLabels: readonly (readonly [string, string])[];
}

/** A cluster-wide default for nodes without placement labels (a Helm value, a CLI flag). */
export interface DefaultPlacement {
  readonly nat?: NatPlacement;
  readonly loadBalancer?: LoadBalancerPlacement;
  readonly timestamps?: TimestampsPath;
}

function pick<T extends string>(
  labels: Readonly<Record<string, string>>,
  label: string,
  allowed: readonly T[],
  fallback: T | undefined,
  invalid: [string, string][],
): T | "unknown" {
  const v = labelValue(labels, label);
  if (v === undefined) return fallback ?? "unknown";
  if ((allowed as readonly string[]).includes(v)) return v as T;
  invalid.push([label, v]);
  return "unknown";
}

export function placementFromLabels(labels: Readonly<Record<string, string>>, defaults: DefaultPlacement = {}): Placement {
  const invalidLabels: [string, string][] = [];
  return {
    nat: pick(labels, NAT_LABEL, NAT_VALUES, defaults.nat, invalidLabels),
    loadBalancer: pick(labels, LOAD_BALANCER_LABEL, LOAD_BALANCER_VALUES, defaults.loadBalancer, invalidLabels),
    timestamps: pick(labels, TIMESTAMPS_LABEL, TIMESTAMPS_VALUES, defaults.timestamps, invalidLabels),
    invalidLabels,
  };
}

/** Parses "nat=none,load-balancer=dsr,tcp-timestamps=preserved" (CLI flag, Helm value). */
export function parseDefaultPlacement(text: string): DefaultPlacement {
  const out: { nat?: NatPlacement; loadBalancer?: LoadBalancerPlacement; timestamps?: TimestampsPath } = {};
  for (const part of text.split(",").map((p) => p.trim()).filter((p) => p !== "")) {
    const [key, value, ...rest] = part.split("=");
    if (value === undefined || rest.length > 0) throw new Error(`invalid placement "${part}": expected key=value`);
    switch (key) {
      case "nat":
        if (!(NAT_VALUES as readonly string[]).includes(value)) throw new Error(`invalid nat "${value}": expected one of ${NAT_VALUES.join(", ")}`);
        out.nat = value as NatPlacement;
        break;
      case "load-balancer":
        if (!(LOAD_BALANCER_VALUES as readonly string[]).includes(value)) throw new Error(`invalid load-balancer "${value}": expected one of ${LOAD_BALANCER_VALUES.join(", ")}`);
        out.loadBalancer = value as LoadBalancerPlacement;
        break;
      case "tcp-timestamps":
        if (!(TIMESTAMPS_VALUES as readonly string[]).includes(value)) throw new Error(`invalid tcp-timestamps "${value}": expected one of ${TIMESTAMPS_VALUES.join(", ")}`);
        out.timestamps = value as TimestampsPath;
        break;
      default:
        throw new Error(`unknown placement key "${key}": expected nat, load-balancer or tcp-timestamps`);
    }
  }
  return out;
}

/** Whether connections arriving at this node may come from many clients sharing one address. */
export function mayReceiveNatedClients(p: Placement): boolean {
  return p.nat === "inbound" || p.nat === "both" || p.nat === "unknown" || p.loadBalancer === "snat";
}
