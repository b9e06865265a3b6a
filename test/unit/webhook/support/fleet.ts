import { readFileSync, readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import { z } from "zod";

/** The sample fleet (test/fixtures/fleet): nodes, policies and the expected verdicts. */
export const FLEET_DIR = fileURLToPath(new URL("../../../fixtures/fleet/", import.meta.url));

const expectedSchema = z.record(
  z.string(),
  z.object({ verdict: z.enum(["allowed", "denied"]), nodes: z.record(z.string(), z.enum(["allowed", "denied", "skipped"])), why: z.string() }),
);
export type ExpectedVerdicts = z.infer<typeof expectedSchema>;

export interface FleetPolicy {
  readonly file: string;
  readonly path: string;
  readonly name: string;
  readonly doc: Record<string, unknown> & { metadata: { name: string } };
}

export function fleetNodes(): Record<string, unknown>[] {
  const list = z.object({ items: z.array(z.record(z.string(), z.unknown())) }).parse(parse(readFileSync(`${FLEET_DIR}nodes.yaml`, "utf8")));
  return list.items;
}

export function fleetPolicies(): FleetPolicy[] {
  return readdirSync(`${FLEET_DIR}policies`)
    .filter((f) => f.endsWith(".yaml"))
    .sort()
    .map((file) => {
      const path = `${FLEET_DIR}policies/${file}`;
      const doc = z.looseObject({ metadata: z.looseObject({ name: z.string() }) }).parse(parse(readFileSync(path, "utf8")));
      return { file, path, name: doc.metadata.name, doc };
    });
}

export function fleetExpected(): ExpectedVerdicts {
  return expectedSchema.parse(JSON.parse(readFileSync(`${FLEET_DIR}expected.json`, "utf8")));
}
