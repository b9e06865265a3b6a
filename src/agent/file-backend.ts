import { appendFile, readFile } from "node:fs/promises";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { nodeStateSchema, nodeStateSpecSchema, nodeStateStatusSchema, type NodeStateStatus } from "../api/v1alpha1/node-state.js";
import type { Logger } from "../log.js";
import { writeFileAtomic } from "./atomic-file.js";
import type { AgentBackend, AgentEvent, DesiredState } from "./main.js";

/**
 * Desired state from a file instead of the API server: a TcpTuningNodeState document (YAML or
 * JSON), polled. A missing file means "deleted" (restore everything). Status is written atomically
 * to a file and Events are appended as JSON lines. Used by the netns tests and for nodes managed
 * without a cluster; the file is validated with the same zod schema as the API object, but nothing
 * here runs the CRD's CEL rules, so the agent's own allowlist is what stands between it and /proc/sys.
 */

export interface FileBackendOptions {
  readonly nodeName: string;
  readonly desiredFile: string;
  readonly statusFile?: string;
  readonly eventsFile?: string;
  readonly pollIntervalMs: number;
  readonly log: Logger;
}

const fileDocSchema = z.union([nodeStateSchema, z.object({ spec: nodeStateSpecSchema, metadata: z.looseObject({ generation: z.number().int().optional() }).optional() })]);

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
    const doc = fileDocSchema.safeParse(parseYaml(text));
    if (!doc.success) {
      opts.log.error({ file: opts.desiredFile, issues: z.prettifyError(doc.error) }, "desired-state file does not match the schema; keeping the last desired state");
      return undefined;
    }
    if (doc.data.spec.nodeName !== opts.nodeName) {
      opts.log.error({ file: opts.desiredFile, node: opts.nodeName, specNodeName: doc.data.spec.nodeName }, "desired-state file is for another node; ignored");
      return undefined;
    }
    return { generation: doc.data.metadata?.generation, sysctls: doc.data.spec.sysctls ?? [], deleted: false };
  }

  return {
    async start(onDesired) {
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
