import { defineConfig } from "vitest/config";

// Three kinds of test, each its own project:
// - unit: pure code, no I/O beyond temp files;
// - integration: a real kube-apiserver + etcd started once per run (see test/support);
// - agent: the node agent in real network namespaces (needs root and iproute2);
// - image: the container image built from the Dockerfile by scripts/image.sh, run with buildah (root).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["test/unit/**/*.test.ts"],
          // Budgets that hold on a loaded 2-core machine (load average 10+): unit tests simulate time
          // (fake timers or an injected clock) and never wait for it, but some are CPU-bound (key
          // generation, property tests, spawning node) and run several times slower under load.
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
      {
        test: {
          name: "integration",
          // Components started by tests pick a free metrics port, never the default 8080.
          env: { METRICS_PORT: "0" },
          include: ["test/integration/**/*.test.ts"],
          globalSetup: ["test/support/global-setup.ts"],
          // One control plane for the run; files run one after another against it.
          fileParallelism: false,
          testTimeout: 60_000,
          hookTimeout: 180_000,
        },
      },
      {
        test: {
          name: "agent",
          env: { METRICS_PORT: "0" },
          include: ["test/agent/**/*.test.ts"],
          globalSetup: ["test/agent/support/host-sysctls.global.ts"],
          testTimeout: 120_000,
          hookTimeout: 180_000,
          fileParallelism: false,
        },
      },
      {
        test: {
          name: "image",
          include: ["test/image/**/*.test.ts"],
          // Builds the image (the bases once, then cached) unless $TCP_TUNING_IMAGE names a built one.
          globalSetup: ["test/image/support/image.global.ts"],
          testTimeout: 180_000,
          hookTimeout: 180_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
