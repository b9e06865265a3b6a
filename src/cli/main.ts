import { isDirectRun, type EntryPoint } from "../cmd/entry-point.js";
import { CHECK_USAGE, runCheck } from "./check.js";
import { runExplain } from "./explain.js";
import { CliError, EXIT_INPUT, readStream, type CliIo } from "./io.js";
import { packageVersion } from "./version.js";

export const USAGE = `Usage: tcp-tuning <command> [options]

Commands
  check     Check TcpTuningPolicy files offline against the rule engine (see \`tcp-tuning check --help\`)
  explain   What the sysctl catalog knows about a sysctl (see \`tcp-tuning explain --help\`)
  plan      What a policy does (DryRun) or would change (Enforce) per node: tcp-tuning plan ttp/NAME
  rollout   A policy's gradual rollout: status [--watch], pause, resume (see \`tcp-tuning rollout --help\`)
  agent     Run the node agent (in the DaemonSet)
  controller  Run the controller: policies -> each node's TcpTuningNodeState, policy status
  webhook   Run the admission webhook server
  version   Print the version
  help      This help

Example
  tcp-tuning check --nodes nodes.yaml policies/
  kustomize build deploy/ | tcp-tuning check --output github -
`;

/**
 * The components `tcp-tuning <command>` runs, one module each in src/cmd. Imported only when their
 * command is asked for, so `check` and `explain` never load Kubernetes clients.
 */
export const COMPONENT_COMMANDS = {
  agent: () => import("../cmd/agent.js"),
  rollout: () => import("../cmd/rollout.js"),
  webhook: () => import("../cmd/webhook.js"),
  controller: () => import("../cmd/controller.js"),
  plan: () => import("../cmd/plan.js"),
} as const satisfies Record<string, () => Promise<EntryPoint>>;

function isComponentCommand(command: string): command is keyof typeof COMPONENT_COMMANDS {
  return Object.hasOwn(COMPONENT_COMMANDS, command);
}

/** The whole CLI: parses argv (without node and script), writes through io, returns the exit code. */
export async function runCli(argv: readonly string[], cliIo: CliIo): Promise<number> {
  const io = readStdinOnce(cliIo);
  const [command, ...rest] = argv;
  try {
    if (command !== undefined && isComponentCommand(command)) {
      const component = await COMPONENT_COMMANDS[command]();
      return await component.main(rest);
    }
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

if (isDirectRun(import.meta.url)) {
  const code = await runCli(process.argv.slice(2), processIo());
  process.exitCode = code;
}
