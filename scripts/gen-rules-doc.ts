/**
 * Writes docs/rules.md from the rule engine (RULES and the sysctl catalog). Run `npm run gen:rules-doc`
 * after changing src/rules; test/unit/rules/rules-doc.test.ts fails while the checked-in file is stale.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { renderRulesDoc, RULES_DOC_FILE } from "../src/rules/rules-doc.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const file = join(root, RULES_DOC_FILE);
mkdirSync(dirname(file), { recursive: true });
writeFileSync(file, renderRulesDoc());
process.stdout.write(`wrote ${RULES_DOC_FILE}\n`);
