/**
 * Writes crds/*.yaml from the zod schemas (src/api/crd-gen/crd.ts), and the same files into the Helm
 * chart (charts/tcp-tuning-operator/files/crds/: a chart cannot read outside its folder). Run
 * `npm run gen:crds` after changing src/api; test/unit/api/crds.test.ts and
 * test/unit/chart/crds-copy.test.ts fail while the checked-in files are stale.
 */
import { writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { CRDS } from "../src/api/crd-gen/crd.js";
import { renderCrd } from "../src/api/crd-gen/yaml.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const chartCrds = "charts/tcp-tuning-operator/files/crds";
for (const { file, crd } of CRDS) {
  const text = renderCrd(crd);
  for (const path of [file, join(chartCrds, basename(file))]) {
    writeFileSync(join(root, path), text);
    process.stdout.write(`wrote ${path}\n`);
  }
}
