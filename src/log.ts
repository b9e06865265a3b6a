import { pino, type Logger, type LoggerOptions } from "pino";

export type { Logger } from "pino";

/**
 * The one place loggers are made. JSON lines by default (what log collectors want);
 * human-friendly output when stderr is a terminal or LOG_FORMAT=pretty.
 * Logs go to stderr so that a command's stdout stays machine-readable.
 */
export function createLogger(name: string, options: { level?: string; pretty?: boolean } = {}): Logger {
  const level = options.level ?? process.env["LOG_LEVEL"] ?? "info";
  const pretty = options.pretty ?? (process.env["LOG_FORMAT"] === "pretty" || (process.env["LOG_FORMAT"] !== "json" && process.stderr.isTTY === true));
  const base: LoggerOptions = { name, level, serializers: { err: pino.stdSerializers.err } };
  if (pretty) {
    return pino({ ...base, transport: { target: "pino-pretty", options: { destination: 2, colorize: true } } });
  }
  return pino(base, pino.destination({ dest: 2, sync: true }));
}
