/**
 * `npx tsx bench/support/profile-top.ts FILE.cpuprofile [N]`: the N functions with the most self time
 * in a V8 CPU profile (`node --cpu-prof`), as used for docs/benchmarks.md. Idle time is left out of the
 * shares, so they are shares of busy time.
 */
import { readFileSync } from "node:fs";

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
}
interface Profile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

const [file, count = "25"] = process.argv.slice(2);
if (!file) throw new Error("usage: profile-top.ts FILE.cpuprofile [N]");
const profile = JSON.parse(readFileSync(file, "utf8")) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const self = new Map<string, number>();
profile.samples.forEach((id, i) => {
  const f = byId.get(id)?.callFrame;
  if (!f) return;
  const where = f.url.replace(/^.*\/(src|bench|node_modules)\//, "$1/").replace(/^file:\/\//, "");
  const key = `${f.functionName || "(anonymous)"} ${where}${where ? `:${f.lineNumber + 1}` : ""}`;
  self.set(key, (self.get(key) ?? 0) + (profile.timeDeltas[i] ?? 0));
});
const idle = self.get("(idle) ") ?? 0;
self.delete("(idle) ");
const busy = [...self.values()].reduce((a, b) => a + b, 0);
process.stdout.write(`busy ${(busy / 1000).toFixed(0)} ms (idle ${(idle / 1000).toFixed(0)} ms)\n`);
for (const [key, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, Number(count))) {
  process.stdout.write(`${((100 * us) / busy).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(6)} ms  ${key}\n`);
}
