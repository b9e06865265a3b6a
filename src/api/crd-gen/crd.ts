import { z } from "zod";
import {
  API_GROUP,
  API_VERSION,
  CATEGORIES,
  NODE_STATE_KIND,
  NODE_STATE_PLURAL,
  NODE_STATE_SHORT_NAMES,
  NODE_STATE_SINGULAR,
  POLICY_KIND,
  POLICY_PLURAL,
  POLICY_SHORT_NAMES,
  POLICY_SINGULAR,
} from "../v1alpha1/group.js";
import { nodeStateSpecSchema, nodeStateStatusSchema } from "../v1alpha1/node-state.js";
import { policySpecSchema, policyStatusSchema } from "../v1alpha1/policy.js";

/**
 * CustomResourceDefinitions generated from the zod schemas, so the API the apiserver enforces and
 * the types the code uses cannot drift (a unit test compares crds/ with this output).
 */

type JsonSchema = { [key: string]: unknown };

/** The zod JSON Schema, reshaped into a Kubernetes structural schema. */
export function toStructural(schema: z.ZodType): JsonSchema {
  const json = z.toJSONSchema(schema, { target: "openapi-3.0", io: "input", unrepresentable: "throw" }) as JsonSchema;
  delete json["$schema"];
  return structural(json);
}

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

function structural(node: JsonSchema): JsonSchema {
  const out: JsonSchema = {};
  for (const [k, v] of Object.entries(node)) {
    if (k === "properties" && v && typeof v === "object") {
      out[k] = Object.fromEntries(Object.entries(v as Record<string, JsonSchema>).map(([p, s]) => [p, structural(s)]));
    } else if ((k === "items" || k === "additionalProperties") && v && typeof v === "object" && !Array.isArray(v)) {
      const inner = v as JsonSchema;
      // A loose object (`additionalProperties: {}`) next to `properties` is not structural: preserve instead.
      if (k === "additionalProperties" && Object.keys(inner).length === 0) out["x-kubernetes-preserve-unknown-fields"] = true;
      else out[k] = structural(inner);
    } else if (k === "anyOf" && Array.isArray(v)) {
      const types = new Set((v as JsonSchema[]).map((s) => s["type"]));
      if (types.size === 2 && types.has("integer") && types.has("string")) {
        // IntOrString: the one anyOf of types Kubernetes allows. The apiserver wants the branches
        // bare (`anyOf: [{type: integer}, {type: string}]`); their bounds move into one CEL rule.
        const branches = v as JsonSchema[];
        const intBranch = branches.find((s) => s["type"] === "integer") ?? {};
        const strBranch = branches.find((s) => s["type"] === "string") ?? {};
        out["x-kubernetes-int-or-string"] = true;
        out["anyOf"] = [{ type: "integer" }, { type: "string" }];
        const rule = intOrStringRule(intBranch, strBranch);
        if (rule) out["x-kubernetes-validations"] = [rule];
      } else {
        throw new Error(`schema uses anyOf over ${[...types].join(", ")}: not representable as a structural schema`);
      }
    } else if ((k === "maximum" && v === MAX_SAFE) || (k === "minimum" && v === -MAX_SAFE)) {
      // zod's "safe integer" bounds say nothing useful to the apiserver.
    } else {
      out[k] = v;
    }
  }
  return out;
}

/** The CEL rule that carries an IntOrString's bounds: integer minimum/maximum, string pattern. */
function intOrStringRule(intBranch: JsonSchema, strBranch: JsonSchema): JsonSchema | undefined {
  const intConds: string[] = [];
  const min = intBranch["minimum"];
  const max = intBranch["maximum"];
  if (typeof min === "number" && min !== -MAX_SAFE) intConds.push(`self >= ${min}`);
  if (typeof max === "number" && max !== MAX_SAFE) intConds.push(`self <= ${max}`);
  const pattern = strBranch["pattern"];
  const strCond = typeof pattern === "string" ? `self.matches('${pattern.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}')` : undefined;
  if (intConds.length === 0 && !strCond) return undefined;
  const intPart = intConds.length ? intConds.join(" && ") : "true";
  const described = [
    intConds.length ? `an integer ${intConds.map((c) => c.replace("self ", "")).join(" and ")}` : "an integer",
    typeof pattern === "string" ? `a string matching ${pattern}` : "a string",
  ].join(" or ");
  return {
    rule: `type(self) == int ? (${intPart}) : (${strCond ?? "true"})`,
    message: `must be ${described}`,
  };
}

interface CrdInput {
  readonly kind: string;
  readonly plural: string;
  readonly singular: string;
  readonly shortNames: readonly string[];
  readonly description: string;
  readonly spec: z.ZodType;
  readonly status: z.ZodType;
  readonly specRequired: boolean;
  readonly printerColumns: readonly { name: string; type: string; jsonPath: string; description?: string; priority?: number }[];
}

function crd(input: CrdInput): JsonSchema {
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: {
      name: `${input.plural}.${API_GROUP}`,
      labels: { "app.kubernetes.io/name": "tcp-tuning-operator", "app.kubernetes.io/part-of": "tcp-tuning-operator" },
    },
    spec: {
      group: API_GROUP,
      scope: "Cluster",
      names: {
        kind: input.kind,
        listKind: `${input.kind}List`,
        plural: input.plural,
        singular: input.singular,
        shortNames: [...input.shortNames],
        categories: [...CATEGORIES],
      },
      versions: [
        {
          name: API_VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: input.printerColumns.map((c) => ({ ...c })),
          schema: {
            openAPIV3Schema: {
              description: input.description,
              type: "object",
              properties: {
                apiVersion: { type: "string" },
                kind: { type: "string" },
                metadata: { type: "object" },
                spec: toStructural(input.spec),
                status: toStructural(input.status),
              },
              ...(input.specRequired ? { required: ["spec"] } : {}),
            },
          },
        },
      ],
    },
  };
}

const READY = '.status.conditions[?(@.type=="Ready")].status';

export const POLICY_CRD = crd({
  kind: POLICY_KIND,
  plural: POLICY_PLURAL,
  singular: POLICY_SINGULAR,
  shortNames: POLICY_SHORT_NAMES,
  description:
    "TcpTuningPolicy rolls TCP/IP sysctls out to the Linux nodes its nodeSelector matches, after the shared rule engine has checked them against each node's kernel and network placement.",
  spec: policySpecSchema,
  status: policyStatusSchema,
  specRequired: true,
  printerColumns: [
    { name: "Mode", type: "string", jsonPath: ".spec.mode" },
    { name: "Matched", type: "integer", jsonPath: ".status.nodes.matched" },
    { name: "Applied", type: "integer", jsonPath: ".status.nodes.applied" },
    { name: "Failed", type: "integer", jsonPath: ".status.nodes.failed" },
    { name: "Rejected", type: "integer", jsonPath: ".status.nodes.rejected" },
    { name: "Ready", type: "string", jsonPath: READY },
    { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" },
  ],
});

export const NODE_STATE_CRD = crd({
  kind: NODE_STATE_KIND,
  plural: NODE_STATE_PLURAL,
  singular: NODE_STATE_SINGULAR,
  shortNames: NODE_STATE_SHORT_NAMES,
  description:
    "TcpTuningNodeState is one node's TCP tuning: spec (written by the controller) holds the values the node should have now; status (written by that node's agent) holds what it applied, the original values it will restore, what the kernel offers, drift and TCP counters.",
  spec: nodeStateSpecSchema,
  status: nodeStateStatusSchema,
  specRequired: true,
  printerColumns: [
    { name: "Node", type: "string", jsonPath: ".spec.nodeName" },
    { name: "Kernel", type: "string", jsonPath: ".status.probe.kernelRelease" },
    { name: "Applied", type: "string", jsonPath: '.status.conditions[?(@.type=="Applied")].status' },
    { name: "Drift", type: "integer", jsonPath: ".status.drift.count" },
    { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" },
  ],
});

/** Every CRD with the file it is checked in as. */
export const CRDS: readonly { readonly file: string; readonly crd: JsonSchema }[] = [
  { file: `crds/${API_GROUP}_${POLICY_PLURAL}.yaml`, crd: POLICY_CRD },
  { file: `crds/${API_GROUP}_${NODE_STATE_PLURAL}.yaml`, crd: NODE_STATE_CRD },
];
