import {
  CONNECTIONS_LABEL,
  CONNECTIONS_VALUES,
  INTERNET_FACING_LABEL,
  INTERNET_FACING_VALUES,
  LOAD_BALANCER_LABEL,
  LOAD_BALANCER_VALUES,
  NAT_IDLE_TIMEOUT_LABEL,
  NAT_LABEL,
  NAT_VALUES,
  TIMESTAMPS_LABEL,
  TIMESTAMPS_VALUES,
  type ConnectionsRole,
  type InternetFacing,
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
  readonly internetFacing: InternetFacing | "unknown";
  readonly connections: ConnectionsRole | "unknown";
  /** The idle timeout of the NAT or balancer in front of the node, in seconds, when declared. */
  readonly natIdleTimeoutSeconds: number | undefined;
  /** Labels present with a value outside the contract: label -> value. */
  readonly invalidLabels: readonly (readonly [string, string])[];
}

/** A cluster-wide default for nodes without placement labels (a Helm value, a CLI flag). */
export interface DefaultPlacement {
  readonly nat?: NatPlacement;
  readonly loadBalancer?: LoadBalancerPlacement;
  readonly timestamps?: TimestampsPath;
  readonly internetFacing?: InternetFacing;
  readonly connections?: ConnectionsRole;
  readonly natIdleTimeoutSeconds?: number;
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

/** A positive whole number of seconds, as a label or a flag writes it ("350"); undefined otherwise. */
function seconds(text: string): number | undefined {
  return /^[1-9]\d{0,6}$/.test(text) ? Number(text) : undefined;
}

export function placementFromLabels(labels: Readonly<Record<string, string>>, defaults: DefaultPlacement = {}): Placement {
  const invalidLabels: [string, string][] = [];
  const idle = labelValue(labels, NAT_IDLE_TIMEOUT_LABEL);
  let natIdleTimeoutSeconds = defaults.natIdleTimeoutSeconds;
  if (idle !== undefined) {
    natIdleTimeoutSeconds = seconds(idle);
    if (natIdleTimeoutSeconds === undefined) invalidLabels.push([NAT_IDLE_TIMEOUT_LABEL, idle]);
  }
  return {
    nat: pick(labels, NAT_LABEL, NAT_VALUES, defaults.nat, invalidLabels),
    loadBalancer: pick(labels, LOAD_BALANCER_LABEL, LOAD_BALANCER_VALUES, defaults.loadBalancer, invalidLabels),
    timestamps: pick(labels, TIMESTAMPS_LABEL, TIMESTAMPS_VALUES, defaults.timestamps, invalidLabels),
    internetFacing: pick(labels, INTERNET_FACING_LABEL, INTERNET_FACING_VALUES, defaults.internetFacing, invalidLabels),
    connections: pick(labels, CONNECTIONS_LABEL, CONNECTIONS_VALUES, defaults.connections, invalidLabels),
    natIdleTimeoutSeconds,
    invalidLabels,
  };
}

function oneOf<T extends string>(key: string, value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value)) throw new Error(`invalid ${key} "${value}": expected one of ${allowed.join(", ")}`);
  return value as T;
}

/**
 * Parses "nat=none,load-balancer=dsr,tcp-timestamps=preserved,internet-facing=false,connections=both,
 * nat-idle-timeout-seconds=350" (CLI flag, Helm value).
 */
export function parseDefaultPlacement(text: string): DefaultPlacement {
  const out: { -readonly [K in keyof DefaultPlacement]: DefaultPlacement[K] } = {};
  for (const part of text
    .split(",")
    .map((p) => p.trim())
    .filter((p) => p !== "")) {
    const [key, value, ...rest] = part.split("=");
    if (value === undefined || rest.length > 0) throw new Error(`invalid placement "${part}": expected key=value`);
    switch (key) {
      case "nat":
        out.nat = oneOf("nat", value, NAT_VALUES);
        break;
      case "load-balancer":
        out.loadBalancer = oneOf("load-balancer", value, LOAD_BALANCER_VALUES);
        break;
      case "tcp-timestamps":
        out.timestamps = oneOf("tcp-timestamps", value, TIMESTAMPS_VALUES);
        break;
      case "internet-facing":
        out.internetFacing = oneOf("internet-facing", value, INTERNET_FACING_VALUES);
        break;
      case "connections":
        out.connections = oneOf("connections", value, CONNECTIONS_VALUES);
        break;
      case "nat-idle-timeout-seconds": {
        const s = seconds(value);
        if (s === undefined) throw new Error(`invalid nat-idle-timeout-seconds "${value}": expected a positive whole number of seconds`);
        out.natIdleTimeoutSeconds = s;
        break;
      }
      default:
        throw new Error(
          `unknown placement key "${key}": expected nat, load-balancer, tcp-timestamps, internet-facing, connections or nat-idle-timeout-seconds`,
        );
    }
  }
  return out;
}

/** Whether connections arriving at this node may come from many clients sharing one address. */
export function mayReceiveNatedClients(p: Placement): boolean {
  return p.nat === "inbound" || p.nat === "both" || p.nat === "unknown" || p.loadBalancer === "snat";
}
