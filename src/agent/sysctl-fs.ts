import { constants } from "node:fs";
import { open, readlink, realpath } from "node:fs/promises";
import { join } from "node:path";
import { isInScope, SYSCTL_SCOPE_TEXT, sysctlNameProblem } from "../api/v1alpha1/sysctl-name.js";
import { lookupSysctl, normalizeSysctlValue, parseValue, type SysctlSpec } from "../rules/index.js";

/**
 * The only place the agent turns a sysctl name into a file and touches it.
 *
 * A name maps to a path only when it is well-formed and in scope (the one grammar of
 * src/api/v1alpha1/sysctl-name.ts, which the CRD and the rule engine use too) and, character for
 * character, a key of the catalog's allowlist: names with `/`, `..`, whitespace or globs, `kernel.*`
 * and anything else are refused before any file is opened, even when the API server let them through. Files are opened with
 * O_NOFOLLOW and without O_CREAT (a sysctl that does not exist is never created), and the opened
 * file's real path must lie under `<root>/net/` before a byte is written.
 */

const MAX_VALUE_BYTES = 4096;

export class SysctlRefusedError extends Error {
  constructor(
    readonly sysctl: string,
    readonly reason: string,
  ) {
    super(`refused sysctl ${JSON.stringify(sysctl)}: ${reason}`);
    this.name = "SysctlRefusedError";
  }
}

export class SysctlIoError extends Error {
  /**
   * After a failed write: what the key reads back, which is the truth about it. A refused write of a
   * vector (tcp_rmem, tcp_wmem) can leave the fields before the bad one written (proc_dointvec_minmax
   * stores each field as it goes), so the key may no longer hold the value it had before the write.
   */
  readonly readBack: string | undefined;
  constructor(
    readonly sysctl: string,
    readonly path: string,
    readonly operation: "read" | "write" | "verify",
    message: string,
    options?: { cause?: unknown; readBack?: string },
  ) {
    super(`${operation} ${name(sysctl)} (${path}): ${message}`, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = "SysctlIoError";
    this.readBack = options?.readBack;
  }
  /** errno code of the underlying failure (ENOENT: the kernel has no such key; EINVAL: value rejected). */
  get code(): string | undefined {
    const cause = this.cause as { code?: unknown } | undefined;
    return typeof cause?.code === "string" ? cause.code : undefined;
  }
}

function name(sysctl: string): string {
  return JSON.stringify(sysctl);
}

export type AllowedSysctl = { readonly ok: true; readonly spec: SysctlSpec; readonly relativePath: string } | { readonly ok: false; readonly reason: string };

/** Decides whether the agent may touch this name at all. Pure: no file is looked at. */
export function allowSysctl(sysctlName: string): AllowedSysctl {
  const problem = sysctlNameProblem(sysctlName);
  if (problem) return { ok: false, reason: `not a sysctl name: it ${problem}` };
  if (!isInScope(sysctlName)) return { ok: false, reason: `out of scope: only ${SYSCTL_SCOPE_TEXT} are written; kernel.*, vm.* and fs.* never are` };
  const spec = lookupSysctl(sysctlName);
  if (!spec) return { ok: false, reason: "not in the sysctl catalog's allowlist" };
  return { ok: true, spec, relativePath: sysctlName.split(".").join("/") };
}

/**
 * A value in the form the kernel prints it: whitespace-normalised ("32768\t60999" -> "32768 60999"),
 * and in the grammar's canonical form when it parses ("8080, 30000-32767" -> "8080,30000-32767").
 */
export function canonicalSysctlValue(spec: SysctlSpec | undefined, raw: string): string {
  if (spec) {
    const parsed = parseValue(spec.grammar, raw);
    if (parsed.ok) return parsed.normalized;
  }
  return normalizeSysctlValue(raw);
}

/** Whether two values are the same setting, compared after normalisation. */
export function sameSysctlValue(a: string, b: string, spec?: SysctlSpec): boolean {
  return canonicalSysctlValue(spec, a) === canonicalSysctlValue(spec, b);
}

export interface SysctlFs {
  readonly root: string;
  /** Whether the kernel has this (allowed) key. Throws SysctlRefusedError for names not allowed. */
  exists(sysctlName: string): Promise<boolean>;
  /** The current value, whitespace-normalised. */
  read(sysctlName: string): Promise<string>;
  /** Writes, reads back and compares; returns what the kernel reads back (normalised). */
  write(sysctlName: string, value: string): Promise<string>;
}

/** A sysctl tree rooted at `root` (default /proc/sys: the network namespace this process runs in). */
export function createSysctlFs(root = "/proc/sys"): SysctlFs {
  let netRoot: Promise<string> | undefined;
  const realNetRoot = (): Promise<string> => (netRoot ??= realpath(join(root, "net")).then((p) => `${p}/`));

  function resolve(sysctlName: string): { path: string; spec: SysctlSpec } {
    const allowed = allowSysctl(sysctlName);
    if (!allowed.ok) throw new SysctlRefusedError(sysctlName, allowed.reason);
    return { path: join(root, allowed.relativePath), spec: allowed.spec };
  }

  /** The real path of what a descriptor points at must lie under <root>/net/. */
  async function confine(sysctlName: string, path: string, fd: number): Promise<void> {
    const base = await realNetRoot();
    const opened = await readlink(`/proc/self/fd/${fd}`);
    if (!opened.startsWith(base)) {
      throw new SysctlRefusedError(sysctlName, `${path} resolves to ${opened}, outside ${base}`);
    }
  }

  /** Before opening for write: the path as resolved now must already lie under <root>/net/. */
  async function confinePath(sysctlName: string, path: string, operation: "read" | "write"): Promise<void> {
    const base = await realNetRoot();
    let real: string;
    try {
      real = await realpath(path);
    } catch (err) {
      throw new SysctlIoError(sysctlName, path, operation, "no such key on this kernel", { cause: err });
    }
    if (!real.startsWith(base)) throw new SysctlRefusedError(sysctlName, `${path} resolves to ${real}, outside ${base}`);
  }

  async function readPath(sysctlName: string, path: string): Promise<string> {
    await confinePath(sysctlName, path, "read");
    let handle;
    try {
      handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
    } catch (err) {
      throw new SysctlIoError(sysctlName, path, "read", (err as Error).message, { cause: err });
    }
    try {
      await confine(sysctlName, path, handle.fd);
      const buf = Buffer.alloc(MAX_VALUE_BYTES);
      const { bytesRead } = await handle.read(buf, 0, buf.length, 0);
      return normalizeSysctlValue(buf.subarray(0, bytesRead).toString("utf8"));
    } catch (err) {
      if (err instanceof SysctlRefusedError) throw err;
      throw new SysctlIoError(sysctlName, path, "read", (err as Error).message, { cause: err });
    } finally {
      await handle.close();
    }
  }

  return {
    root,
    async exists(sysctlName) {
      const { path } = resolve(sysctlName);
      try {
        await confinePath(sysctlName, path, "read");
        return true;
      } catch (err) {
        if (err instanceof SysctlIoError) return false;
        throw err;
      }
    },
    async read(sysctlName) {
      return readPath(sysctlName, resolve(sysctlName).path);
    },
    async write(sysctlName, value) {
      const { path, spec } = resolve(sysctlName);
      const wanted = canonicalSysctlValue(spec, value);
      const payload = `${wanted}\n`;
      if (Buffer.byteLength(payload) > MAX_VALUE_BYTES) throw new SysctlRefusedError(sysctlName, "value too long");
      await confinePath(sysctlName, path, "write");
      let handle;
      try {
        // O_TRUNC is a no-op on procfs and keeps a plain-file test root honest; no O_CREAT, ever.
        handle = await open(path, constants.O_WRONLY | constants.O_NOFOLLOW | constants.O_TRUNC);
      } catch (err) {
        throw new SysctlIoError(sysctlName, path, "write", (err as Error).message, { cause: err });
      }
      let failure: unknown;
      try {
        await confine(sysctlName, path, handle.fd);
        // procfs takes a sysctl value in one write at offset 0.
        await handle.write(payload, 0, "utf8");
      } catch (err) {
        if (err instanceof SysctlRefusedError) throw err;
        failure = err;
      } finally {
        await handle.close();
      }
      if (failure !== undefined) {
        // A refused write may still have changed the key (a vector's first fields): read what it holds now.
        const readBack = await readPath(sysctlName, path).catch(() => undefined);
        const now = readBack === undefined ? "" : `; it reads back ${JSON.stringify(readBack)}`;
        throw new SysctlIoError(
          sysctlName,
          path,
          "write",
          `${(failure as Error).message}${now}`,
          readBack === undefined ? { cause: failure } : { cause: failure, readBack },
        );
      }
      const actual = await readPath(sysctlName, path);
      if (!sameSysctlValue(actual, wanted, spec)) {
        throw new SysctlIoError(sysctlName, path, "verify", `wrote ${JSON.stringify(wanted)}, kernel reads back ${JSON.stringify(actual)}`, {
          readBack: actual,
        });
      }
      return actual;
    },
  };
}
