import { constants } from "node:fs";
import { mkdir, open } from "node:fs/promises";
import { dirname } from "node:path";
import { z } from "zod";
import { originalValueSchema, type OriginalValue } from "../api/v1alpha1/node-state.js";
import { writeFileAtomic } from "./atomic-file.js";

/**
 * The agent's durable memory on the node (a hostPath file): the value each key had before this
 * operator first changed it. It is written before the first write of a key and survives crashes,
 * restarts and upgrades; a key leaves it only after its original was written back successfully.
 *
 * Writes are atomic: a temp file in the same directory, fsync, rename over the old file, fsync of
 * the directory. A reader sees the old file or the new one, never half of one.
 */

export const STATE_FILE_VERSION = 1;

export const stateFileSchema = z.object({
  version: z.literal(STATE_FILE_VERSION),
  nodeName: z.string().optional(),
  /** The kernel boot (boot_id) whose values the originals are: a reboot starts the kernel afresh. */
  bootId: z.string().max(64).optional(),
  originals: z.array(originalValueSchema).max(256),
});
export type StateFile = z.infer<typeof stateFileSchema>;

export class StateFileError extends Error {
  /** "read": the file cannot be trusted or parsed; "write": it could not be replaced (disk full, read-only), the old one stays. */
  readonly operation: "read" | "write";
  constructor(
    readonly path: string,
    message: string,
    options?: { cause?: unknown; operation?: "read" | "write" },
  ) {
    super(`state file ${path}: ${message}`, options?.cause === undefined ? undefined : { cause: options.cause });
    this.operation = options?.operation ?? "read";
    this.name = "StateFileError";
  }
}

export function emptyState(nodeName?: string): StateFile {
  return nodeName === undefined ? { version: STATE_FILE_VERSION, originals: [] } : { version: STATE_FILE_VERSION, nodeName, originals: [] };
}

/**
 * Reads the state file. A missing file is an empty state (first start on this node). A file that
 * does not parse is an error, never silently replaced: it may hold the only copy of the originals.
 */
export async function loadStateFile(path: string): Promise<StateFile> {
  return (await readStateFile(path)) ?? emptyState();
}

/**
 * Why a state file must not be trusted, or undefined when it may. Only a regular file with one link,
 * owned by this process's user and not readable or writable by anyone else is the agent's own: a
 * second link means another name (maybe another user's file) shares its contents, and a file someone
 * else owns or can write may hold originals the agent never recorded.
 */
export function stateFileProblem(st: { nlink: number; uid: number; mode: number; isFile(): boolean }, euid = process.geteuid?.() ?? 0): string | undefined {
  if (!st.isFile()) return "is not a regular file";
  if (st.nlink !== 1) return `has ${st.nlink} hard links, expected 1 (another name shares this file)`;
  if (st.uid !== euid) return `is owned by uid ${st.uid}, expected ${euid} (the agent's own user)`;
  if ((st.mode & 0o077) !== 0) return `has mode ${(st.mode & 0o777).toString(8).padStart(4, "0")}, expected 0600 (no access for group or others)`;
  return undefined;
}

/** Like loadStateFile, but says "missing" (undefined) instead of answering with an empty state. */
export async function readStateFile(path: string): Promise<StateFile | undefined> {
  let text: string;
  let handle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    const why = (err as NodeJS.ErrnoException).code === "ELOOP" ? "is a symbolic link (refusing to follow it)" : `cannot read: ${(err as Error).message}`;
    throw new StateFileError(path, why, { cause: err });
  }
  try {
    const problem = stateFileProblem(await handle.stat());
    if (problem) throw new StateFileError(path, `${problem}; refusing to read or replace it: check the originals in it and move it aside`);
    text = await handle.readFile("utf8");
  } catch (err) {
    if (err instanceof StateFileError) throw err;
    throw new StateFileError(path, `cannot read: ${(err as Error).message}`, { cause: err });
  } finally {
    await handle.close();
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new StateFileError(path, `not JSON (refusing to overwrite it; move it aside after checking the originals in it): ${(err as Error).message}`, {
      cause: err,
    });
  }
  const parsed = stateFileSchema.safeParse(json);
  if (!parsed.success) {
    throw new StateFileError(path, `does not match the state file schema (refusing to overwrite it): ${z.prettifyError(parsed.error)}`);
  }
  return parsed.data;
}

/** Writes the whole state atomically and durably (temp + fsync + rename + fsync of the directory). */
export async function saveStateFile(path: string, state: StateFile): Promise<void> {
  const valid = stateFileSchema.parse(state);
  const dir = dirname(path);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  try {
    await writeFileAtomic(path, `${JSON.stringify(valid, null, 2)}\n`);
  } catch (err) {
    throw new StateFileError(path, `cannot be replaced, the file on disk is unchanged: ${(err as Error).message}`, { cause: err, operation: "write" });
  }
}

export function findOriginal(state: StateFile, sysctlName: string): OriginalValue | undefined {
  return state.originals.find((o) => o.name === sysctlName);
}

export function withOriginals(state: StateFile, added: readonly OriginalValue[]): StateFile {
  const known = new Set(state.originals.map((o) => o.name));
  return { ...state, originals: [...state.originals, ...added.filter((o) => !known.has(o.name))] };
}

export function withoutOriginal(state: StateFile, sysctlName: string): StateFile {
  return { ...state, originals: state.originals.filter((o) => o.name !== sysctlName) };
}
