import { appendFile, readFile } from "node:fs/promises";
import { nodeStateStatusSchema, type NodeStateStatus } from "../api/v1alpha1/node-state.js";
import type { Logger } from "../log.js";
import { removeStaleTemporaries, writeFileAtomic } from "./atomic-file.js";
import { parseDesiredFile } from "./desired-file.js";
import type { AgentBackend, AgentEvent, DesiredState } from "./main.js";

/**
 * Desired state from a file instead of the API server: a TcpTuningNodeState document (YAML or
 * JSON), polled. A missing file means "deleted" (restore everything). Status is written atomically
 * to a file and Events are appended as JSON lines. Used by the netns tests and for nodes managed
 * without a cluster. The file needs only what the agent uses (desired-file.ts); an invalid file is
 * delivered as rejected, with its problems (field, limit, line), so status says so. Nothing here
 * runs the CRD's CEL rules: the agent's own allowlist is what stands between it and /proc/sys.
 */

export interface FileBackendOptions {
  readonly nodeName: string;
  readonly desiredFile: string;
  readonly statusFile?: string;
  readonly eventsFile?: string;
  readonly pollIntervalMs: number;
  readonly log: Logger;
}

export function createFileBackend(opts: FileBackendOptions): AgentBackend {
  let timer: NodeJS.Timeout | undefined;
  let lastText: string | null | undefined;

  async function readDesired(): Promise<DesiredState | undefined> {
    let text: string | null;
    try {
      text = await readFile(opts.desiredFile, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
      text = null;
    }
    if (text === lastText) return undefined;
    lastText = text;
    if (text === null) return { generation: undefined, sysctls: [], deleted: true };
    const doc = parseDesiredFile(text);
    if (!doc.ok) {
      const why = `${opts.desiredFile}: ${doc.problems.join("; ")}`;
      opts.log.error({ file: opts.desiredFile, problems: doc.problems }, "desired-state file is invalid; keeping the last desired state");
      return { generation: undefined, sysctls: [], deleted: false, rejected: why };
    }
    if (doc.nodeName !== undefined && doc.nodeName !== opts.nodeName) {
      opts.log.error({ file: opts.desiredFile, node: opts.nodeName, specNodeName: doc.nodeName }, "desired-state file is for another node; ignored");
      return {
        generation: undefined,
        sysctls: [],
        deleted: false,
        rejected: `${opts.desiredFile}: spec.nodeName is ${JSON.stringify(doc.nodeName)}, not this node (${JSON.stringify(opts.nodeName)})`,
      };
    }
    return { generation: doc.generation, sysctls: doc.sysctls, deleted: false };
  }

  return {
    /** A deleted desired file leaves the status file in place: it says what was restored. */
    keepsStatusWhenDeleted: true,
    async start(onDesired) {
      if (opts.statusFile) await removeStaleTemporaries(opts.statusFile);
      const poll = async (): Promise<void> => {
        try {
          const d = await readDesired();
          if (d) onDesired(d);
        } catch (err) {
          opts.log.error({ err, file: opts.desiredFile }, "cannot read the desired-state file");
        }
      };
      await poll();
      timer = setInterval(() => void poll(), opts.pollIntervalMs);
    },
    async writeStatus(status: NodeStateStatus) {
      if (!opts.statusFile) return;
      // The same schema the API client checks before a status patch, so the file shows what the API would take.
      await writeFileAtomic(opts.statusFile, `${JSON.stringify({ status: nodeStateStatusSchema.parse(status) }, null, 2)}\n`);
    },
    async emitEvent(event: AgentEvent) {
      if (!opts.eventsFile) return;
      await appendFile(opts.eventsFile, `${JSON.stringify({ ...event, time: new Date().toISOString() })}\n`);
    },
    async stop() {
      if (timer) clearInterval(timer);
    },
  };
}
