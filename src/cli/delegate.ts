import { fileURLToPath } from "node:url";
import { EXIT_INPUT, type CliIo } from "./io.js";

/** A subcommand that lives in another part of the project, loaded only when asked for. */
interface DelegateModule {
  readonly main?: (argv: readonly string[]) => unknown;
  readonly run?: (argv: readonly string[]) => unknown;
  readonly default?: (argv: readonly string[]) => unknown;
}

/** Whether the import failed because the module itself is missing (not one of its own imports). */
function isMissingModule(err: unknown, url: string): boolean {
  const code = err && typeof err === "object" ? (err as { code?: unknown }).code : undefined;
  const message = err instanceof Error ? err.message : "";
  const stem = fileURLToPath(url).replace(/\.js$/, "");
  return (code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND") && message.includes(stem);
}

/**
 * Runs `agent` or `webhook` from their own modules (`main`, `run` or default export taking argv and
 * returning an exit code or nothing), imported lazily so `check` never loads Kubernetes clients.
 */
export async function delegate(command: string, specifier: string, args: readonly string[], io: CliIo, base: string = import.meta.url): Promise<number> {
  const url = new URL(specifier, base).href;
  let mod: DelegateModule;
  try {
    mod = (await import(url)) as DelegateModule;
  } catch (err) {
    if (isMissingModule(err, url)) {
      io.stderr.write(`tcp-tuning: the ${command} command is not part of this build (module ${specifier} is missing)\n`);
      return EXIT_INPUT;
    }
    throw err;
  }
  const entry = mod.main ?? mod.run ?? mod.default;
  if (typeof entry !== "function") {
    io.stderr.write(`tcp-tuning: module ${specifier} exports no main(argv) function\n`);
    return EXIT_INPUT;
  }
  const code = await entry(args);
  return typeof code === "number" ? code : 0;
}

