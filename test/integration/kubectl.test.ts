import { beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { API_GROUP, NODE_STATE_PLURAL, POLICY_PLURAL } from "../../src/api/v1alpha1/group.js";
import { kubectl, uniqueName } from "../support/cluster.js";

const versionSchema = z.object({
  clientVersion: z.object({ gitVersion: z.string(), major: z.string(), minor: z.string() }),
  serverVersion: z.object({ gitVersion: z.string(), major: z.string(), minor: z.string() }),
});

describe("the kubectl built by scripts/k8s-bins.sh against the real control plane", () => {
  beforeAll(async () => {
    // The checked-in YAML, exactly as a person would install it.
    await kubectl(["apply", "--server-side", "--force-conflicts", "--field-manager=kubectl-test", "-f", "crds/"]);
    await kubectl(["wait", "--for=condition=Established", "--timeout=60s", `crd/${POLICY_PLURAL}.${API_GROUP}`, `crd/${NODE_STATE_PLURAL}.${API_GROUP}`]);
  });

  it("reports a v1.37 client and a v1.37 server, not the v0.0.0 of a build without version stamps", async () => {
    const { stdout } = await kubectl(["version", "-o", "json"]);
    const version = versionSchema.parse(JSON.parse(stdout));
    expect(version.serverVersion.gitVersion).toMatch(/^v1\.37\.\d+$/);
    expect(version.serverVersion).toMatchObject({ major: "1", minor: "37" });
    expect(version.clientVersion.gitVersion).toBe(version.serverVersion.gitVersion);
  });

  it("applies a policy from YAML and lists it by its short name with the printer columns", async () => {
    const name = uniqueName("kubectl-ttp");
    const manifest = [
      `apiVersion: ${API_GROUP}/v1alpha1`,
      "kind: TcpTuningPolicy",
      "metadata:",
      `  name: ${name}`,
      "spec:",
      "  mode: DryRun",
      "  sysctls:",
      "    - name: net.ipv4.tcp_keepalive_time",
      '      value: "600"',
    ].join("\n");
    const applied = await kubectl(["apply", "-f", "-"], { input: manifest });
    expect(applied.stdout.trim()).toBe(`tcptuningpolicy.${API_GROUP}/${name} created`);
    try {
      const { stdout } = await kubectl(["get", "ttp", name]);
      const [header, row, ...rest] = stdout.trim().split("\n");
      expect(header?.split(/\s+/)).toEqual(["NAME", "MODE", "MATCHED", "APPLIED", "FAILED", "REJECTED", "READY", "AGE"]);
      expect(row?.split(/\s+/).slice(0, 2)).toEqual([name, "DryRun"]);
      expect(rest).toEqual([]);
    } finally {
      await kubectl(["delete", "ttp", name, "--wait=false"]);
    }
  });

  it("refuses, through kubectl too, a policy whose maxUnavailable is not a count or a percentage", async () => {
    const name = uniqueName("kubectl-bad");
    const manifest = JSON.stringify({
      apiVersion: `${API_GROUP}/v1alpha1`,
      kind: "TcpTuningPolicy",
      metadata: { name },
      spec: { sysctls: [{ name: "net.ipv4.tcp_keepalive_time", value: "600" }], rollout: { maxUnavailable: "150%" } },
    });
    await expect(kubectl(["apply", "-f", "-"], { input: manifest })).rejects.toThrow(/spec\.rollout\.maxUnavailable/);
  });
});
