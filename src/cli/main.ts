import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { CHECK_USAGE, runCheck } from "./check.js";
import { runExplain } from "./explain.js";
import { delegate } from "./delegate.js";
import { CliError, EXIT_INPUT, readStream, type CliIo } from "./io.js";
import { packageVersion } from "./version.js";

export const USAGE = `Usage: tcp-tuning <command> [options]

Commands
  check     Check TcpTuningPolicy files offline against the rule engine (see \`tcp-tuning check --help\`)
  explain   What the sysctl catalog knows about a sysctl (see \`tcp-tuning explain --help\`)
  plan      What a policy does (DryRun) or would change (Enforce) per node: tcp-tuning plan ttp/NAME
  rollout   A policy's gradual rollout: status [--watch], pause, resume (see \`tcp-tuning rollout --help\`)
  agent     Run the node agent (in the DaemonSet)
  controller Run the controller (policies -> node states, policy status)
  webhook   Run the admission webhook server
  version   Print the version
  help      This help

Example
  tcp-tuning check --nodes nodes.yaml policies/
  kustomize build deploy/ | tcp-tuning check --output github -
`;

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
      case "rollout": {
        // Loaded on demand: check and explain never load the Kubernetes client.
        const { runRollout } = await import("./rollout/command.js");
        return await runRollout(rest, io);
      }
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
      case "controller":
        return await delegate("controller", "../controller/main.js", rest, io);
      case "plan":
        return await delegate("plan", "../controller/plan-command.js", rest, io);
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
