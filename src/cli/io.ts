/** Where the CLI reads and writes: injected, so tests run the whole CLI in-process. */
export interface Writer {
  write(text: string): void;
  /** True when the stream is a terminal (colour is used only then). */
  readonly isTTY?: boolean | undefined;
}

export interface CliIo {
  readonly stdout: Writer;
  readonly stderr: Writer;
  /** Reads all of standard input (for the `-` argument). */
  readonly readStdin: () => Promise<string>;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Directory relative paths are resolved against. */
  readonly cwd: string;
}

export const EXIT_OK = 0;
/** A policy was denied. */
export const EXIT_DENIED = 1;
/** Usage error, or input that cannot be read, parsed or validated. */
export const EXIT_INPUT = 2;

/** A usage or input error: printed as "tcp-tuning: message", exit code 2. */
export class CliError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "CliError";
  }
}

export async function readStream(stream: AsyncIterable<Buffer | string>): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === "string" ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks).toString("utf8");
}
