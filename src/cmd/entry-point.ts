import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";

/**
 * What every component's entry point (src/cmd/<component>.ts) exports: runs the component with its
 * arguments (without node and the script) and resolves to the process exit code. `tcp-tuning
 * <component>` (src/cli/main.ts) calls it, and so does running the module directly.
 */
export interface EntryPoint {
  main(argv: readonly string[]): Promise<number>;
}

/**
 * Whether the module at moduleUrl is the script node was started with (`node dist/cmd/webhook.js`,
 * `node --import tsx src/cmd/agent.ts`), as opposed to being imported by the CLI or a test.
 */
export function isDirectRun(moduleUrl: string, script: string | undefined = process.argv[1]): boolean {
  if (!script) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(moduleUrl));
  } catch {
    return false;
  }
}
