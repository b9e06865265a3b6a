import { runAgentCli } from "./cli.js";

/** Runs the agent directly: `node --import tsx src/agent/bin.ts ...` or `node dist/agent/bin.js ...`. */
const code = await runAgentCli(process.argv.slice(2), process.env);
// Exit explicitly: keep-alive sockets of the API client must not keep a stopped agent alive.
process.exit(code);
