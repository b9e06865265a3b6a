import { readFileSync } from "node:fs";
import { z } from "zod";

/** The package version: package.json sits two levels above both src/cli and dist/cli. */
export function packageVersion(): string {
  try {
    const text = readFileSync(new URL("../../package.json", import.meta.url), "utf8");
    return z.object({ version: z.string() }).parse(JSON.parse(text)).version;
  } catch {
    return "0.0.0-unknown";
  }
}
