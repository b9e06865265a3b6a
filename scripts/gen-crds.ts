/**
 * Writes crds/*.yaml from the zod schemas (src/api/crd-gen/crd.ts). Run `npm run gen:crds` after changing
 * src/api; test/unit/api/crds.test.ts fails while the checked-in files are stale.
 */
import { writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { CRDS } from "../src/api/crd-gen/crd.js";
import { renderCrd } from "../src/api/crd-gen/yaml.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
for (const { file, crd } of CRDS) {
  writeFileSync(join(root, file), renderCrd(crd));
  process.stdout.write(`wrote ${file}\n`);
}
