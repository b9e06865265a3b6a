import { spawn } from "node:child_process";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { REPO_ROOT } from "../../support/control-plane.js";

/**
 * vitest globalSetup of the image project: the container image built from the repository's
 * Dockerfile by scripts/image.sh (buildah, local bases; minutes the first time, the bases cached).
 * With $TCP_TUNING_IMAGE set (CI builds it in a step of its own), that image is tested instead.
 */
declare module "vitest" {
  export interface ProvidedContext {
    image: string;
  }
}

export default async function setup(project: TestProject): Promise<void> {
  const given = process.env["TCP_TUNING_IMAGE"];
  const image = given ?? "localhost/tcp-tuning-operator:test";
  if (!given) {
    const code = await new Promise<number>((resolve, reject) => {
      const child = spawn("bash", [join(REPO_ROOT, "scripts", "image.sh")], { env: { ...process.env, IMAGE: image }, stdio: ["ignore", "inherit", "inherit"] });
      child.once("error", reject);
      child.once("exit", (c) => resolve(c ?? 1));
    });
    if (code !== 0) throw new Error(`scripts/image.sh failed (exit ${code}); its output is above`);
  }
  project.provide("image", image);
}
