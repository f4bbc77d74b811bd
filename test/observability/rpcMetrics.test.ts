import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { VerificationMethod } from "../../gen/onetime/v1/verification_service_pb.js";
import { sampleValue, scrapeMetrics } from "../support/metricsText.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { failure, verificationClient } from "../support/verificationClient.js";

/** The per-RPC metrics a round trip leaves at the metrics port's /metrics, by protocol, method and code. */
describe("per-RPC metrics", () => {
  let server: TestServer;
  let metrics: string;

  beforeAll(async () => {
    server = await startTestServer("real", "rpc_metrics");
    for (const protocol of ["connect-json", "grpc"] as const) {
      const client = await verificationClient(server.url, protocol);
      const { verification } = await client.initiateVerification({ method: VerificationMethod.EMAIL, consumer: `${protocol}@example.com`, policy: { forcedCode: "271828" } });
      await failure(client.validateVerification({ verificationId: verification!.verificationId, code: "000000" }));
      await client.validateVerification({ verificationId: verification!.verificationId, code: "271828" });
    }
    metrics = await scrapeMetrics(server.metricsUrl);
  });
  afterAll(async () => {
    await server?.stop();
  });

  const count = (system: string, method: string, code: string) => {
    const labels = `rpc_system="${system}",rpc_service="onetime.v1.VerificationService",rpc_method="${method}",rpc_response_status_code="${code}"`;
    return sampleValue(metrics, "rpc_server_call_duration_seconds_count", labels);
  };

  it("counts each call by system, method and status code, with its duration", () => {
    for (const system of ["connect_rpc", "grpc"]) {
      expect(count(system, "InitiateVerification", "OK")).toBe(1);
      expect(count(system, "ValidateVerification", "OK")).toBe(1);
      expect(count(system, "ValidateVerification", "INVALID_ARGUMENT")).toBe(1);
    }
    expect(metrics).toMatch(/rpc_server_call_duration_seconds_bucket\{le="\+Inf",rpc_system="grpc",rpc_service="onetime.v1.VerificationService",rpc_method="InitiateVerification",rpc_response_status_code="OK"\} 1/);
  });

  it("shows no call active once they have all ended", () => {
    const active = metrics.split("\n").filter((line) => line.startsWith("rpc_server_active_requests{") && line.includes("VerificationService"));
    expect(active.length).toBeGreaterThan(0);
    for (const line of active) expect(line.endsWith(" 0")).toBe(true);
  });
});
