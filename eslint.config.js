// ESLint (flat config) with typescript-eslint's type-aware rules. `npm run lint`; CI runs it.
//
// What it holds the code to:
// - promises: none floats, none is passed where a callback's result is ignored;
// - no console in src (logs go through src/log.ts, command output through the CLI's io streams);
// - import boundaries between src folders (below), so the layout stays what README describes.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

/** Every src folder; a boundary lists the ones a folder must not import. */
const FOLDERS = ["api", "rules", "kube", "certs", "cli", "cmd", "webhook", "agent", "controller"];
const folderPatterns = (folders) => folders.map((f) => `**/${f}/**`);
/** src/log.ts: the components' logger, no business of the pure layers. */
const LOGGER = { group: ["**/log.js", "pino"], message: "src/api and src/rules do not log." };

/** Outside src/rules, only its public surface. */
const RULES_INTERNALS = {
  group: ["**/rules/**", "!**/rules/index.js"],
  message: "Import the rule engine through src/rules/index.ts (its public surface), not its internals.",
};

/** no-restricted-imports for a folder: the folders it must not import, and anything else. */
function boundary(files, forbiddenFolders, message, extra = []) {
  return {
    files,
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [...(forbiddenFolders.length ? [{ group: folderPatterns(forbiddenFolders), message }] : []), ...extra],
        },
      ],
    },
  };
}

const others = (...allowed) => FOLDERS.filter((f) => !allowed.includes(f));

export default tseslint.config(
  {
    ignores: ["dist/**", "bench/results/**", "node_modules/**", "coverage/**", ".bin/**", ".cache/**", "test-results/**", "hack/**", "crds/**"],
  },
  js.configs.recommended,
  tseslint.configs.base,
  {
    // ESLint lints only JavaScript unless told: every TypeScript file of src, test, scripts and bench.
    files: ["**/*.ts", "**/*.js"],
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ["eslint.config.js", "bin/*.js"] },
        tsconfigRootDir: import.meta.dirname,
      },
      globals: {
        process: "readonly",
        console: "readonly",
        URL: "readonly",
        Buffer: "readonly",
        setTimeout: "readonly",
        clearTimeout: "readonly",
        setInterval: "readonly",
        clearInterval: "readonly",
        setImmediate: "readonly",
      },
    },
    rules: {
      // TypeScript checks these better than the base rules (types, overloads, declaration merging).
      "no-undef": "off",
      "no-unused-vars": "off",
      "no-redeclare": "off",
      "no-dupe-class-members": "off",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none", ignoreRestSiblings: true }],
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": "error",
      "@typescript-eslint/await-thenable": "error",
      "@typescript-eslint/require-await": "off",
    },
  },
  {
    files: ["**/*.js"],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    files: ["src/**/*.ts"],
    rules: { "no-console": "error" },
  },
  // Import boundaries. src/api: the versioned types and the CRD generator, nothing else from src.
  boundary(["src/api/**/*.ts"], others("api"), "src/api is the bottom layer: it imports nothing else from src.", [LOGGER]),
  // src/rules: the pure engine; only the API types, no I/O clients.
  boundary(["src/rules/**/*.ts"], others("api", "rules"), "The rule engine is pure: it imports only src/api.", [
    LOGGER,
    {
      group: ["@kubernetes/client-node", "node:fs", "node:fs/promises", "node:child_process", "node:net", "node:http", "node:https"],
      message: "The rule engine is pure: no I/O.",
    },
  ]),
  // src/kube and src/certs: shared plumbing, used by the components, never using them.
  boundary(["src/kube/**/*.ts"], others("api", "rules", "kube"), "src/kube is shared plumbing: it must not import a component.", [RULES_INTERNALS]),
  boundary(["src/certs/**/*.ts"], others("api", "kube", "certs"), "src/certs is shared plumbing: it must not import a component.", [RULES_INTERNALS]),
  // The components: the rule engine's public surface, the plumbing, never each other.
  boundary(["src/webhook/**/*.ts"], ["cli", "cmd", "agent", "controller"], "A component does not import another component.", [RULES_INTERNALS]),
  boundary(["src/agent/**/*.ts"], ["cli", "cmd", "webhook", "controller"], "A component does not import another component.", [RULES_INTERNALS]),
  boundary(["src/controller/**/*.ts"], ["cli", "cmd", "webhook", "agent"], "A component does not import another component.", [RULES_INTERNALS]),
  // src/cli: `check` and `explain` must never load Kubernetes clients; the components are reached only
  // through the lazy table in src/cli/main.ts (dynamic imports of src/cmd).
  boundary(
    ["src/cli/**/*.ts"],
    ["kube", "certs", "webhook", "agent", "controller"],
    "The CLI reaches the components only through src/cmd, lazily (src/cli/main.ts).",
    [RULES_INTERNALS, { group: ["@kubernetes/client-node"], message: "check and explain never load the Kubernetes client." }],
  ),
  // src/cmd: one entry point per component; wires components, not the CLI's internals.
  boundary(["src/cmd/**/*.ts"], ["cli"], "Entry points do not import the CLI.", [RULES_INTERNALS]),
);
