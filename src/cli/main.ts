import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { CHECK_USAGE, runCheck } from "./check.js";
import { runExplain } from "./explain.js";
import { CliError, EXIT_INPUT, readStream, type CliIo } from "./io.js";
import { packageVersion } from "./version.js";

export const USAGE = `Usage: tcp-tuning <command> [options]

Commands
  check     Check TcpTuningPolicy files offline against the rule engine (see \`tcp-tuning check --help\`)
  explain   What the sysctl catalog knows about a sysctl (see \`tcp-tuning explain --help\`)
  agent     Run the node agent (in the DaemonSet)
  webhook   Run the admission webhook server
  version   Print the version
  help      This help

Example
  tcp-tuning check --nodes nodes.yaml policies/
  kustomize build deploy/ | tcp-tuning check --output github -
`;

/** A subcommand that lives in another part of the project, loaded only when asked for. */
interface DelegateModule {
  readonly main?: (argv: readonly string[]) => unknown;
  readonly run?: (argv: readonly string[]) => unknown;
  readonly default?: (argv: readonly string[]) => unknown;
}

function isMissingModule(err: unknown, specifier: string): boolean {
  const code = err && typeof err === "object" ? (err as { code?: unknown }).code : undefined;
  const message = err instanceof Error ? err.message : "";
  return (code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND") && message.includes(specifier.replace(/^\.\.\//, "").replace(/\.js$/, ""));
}

/**
 * Runs `agent` or `webhook` from their own modules (`main`, `run` or default export taking argv and
 * returning an exit code or nothing), imported lazily so `check` never loads Kubernetes clients.
 */
async function delegate(command: string, specifier: string, args: readonly string[], io: CliIo): Promise<number> {
  let mod: DelegateModule;
  try {
    mod = (await import(new URL(specifier, import.meta.url).href)) as DelegateModule;
  } catch (err) {
    if (isMissingModule(err, specifier)) {
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

/** The whole CLI: parses argv (without node and script), writes through io, returns the exit code. */
export async function runCli(argv: readonly string[], cliIo: CliIo): Promise<number> {
  const io = readStdinOnce(cliIo);
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case "check":
        return await runCheck(rest, io);
      case "explain":
        return runExplain(rest, io);
      case "version":
      case "--version":
      case "-v":
        io.stdout.write(`tcp-tuning ${packageVersion()}\n`);
        return 0;
      case "help":
      case "--help":
      case "-h":
        io.stdout.write(rest[0] === "check" ? CHECK_USAGE : USAGE);
        return 0;
      case "agent":
        return await delegate("agent", "../agent/cli.js", rest, io);
      case "webhook":
        return await delegate("webhook", "../webhook/main.js", rest, io);
      case undefined:
        io.stderr.write(USAGE);
        return EXIT_INPUT;
      default:
        throw new CliError(`unknown command "${command}"`);
    }
  } catch (err) {
    if (err instanceof CliError) {
      io.stderr.write(`tcp-tuning: ${err.message}\nRun \`tcp-tuning help\` for usage.\n`);
      return EXIT_INPUT;
    }
    io.stderr.write(`tcp-tuning: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    return EXIT_INPUT;
  }
}

/** Standard input can be read once: policies and --nodes may both name "-". */
function readStdinOnce(io: CliIo): CliIo {
  let stdin: Promise<string> | undefined;
  return { ...io, readStdin: () => (stdin ??= io.readStdin()) };
}

/** The process's io: real streams; stdin read once, on demand. */
export function processIo(): CliIo {
  return {
    stdout: { write: (t) => void process.stdout.write(t), isTTY: process.stdout.isTTY },
    stderr: { write: (t) => void process.stderr.write(t), isTTY: process.stderr.isTTY },
    readStdin: () => readStream(process.stdin),
    env: process.env,
    cwd: process.cwd(),
  };
}

function isEntryPoint(): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  const code = await runCli(process.argv.slice(2), processIo());
  process.exitCode = code;
}
