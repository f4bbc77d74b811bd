import { Code } from "@connectrpc/connect";
import { Gauge, Histogram, Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { VerificationMethod } from "../../gen/onetime/v1/verification_service_pb.js";
import { createRpcMetrics } from "../../src/observability/rpcMetrics.js";
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

/** The same calls counted by createRpcMetrics and, label object by label object, by prom-client's own Histogram and Gauge. */
describe("per-RPC metrics, against prom-client's own metrics", () => {
  const service = "onetime.v1.VerificationService";
  it("exposes the same text", async () => {
    const registry = new Registry();
    const metrics = createRpcMetrics(registry);
    const helps = new Map((await registry.getMetricsAsJSON()).map(({ name, help }) => [name, help]));
    const help = (name: string) => helps.get(name)!;
    const reference = new Registry();
    const duration = new Histogram({
      name: "rpc_server_call_duration_seconds",
      help: help("rpc_server_call_duration_seconds"),
      labelNames: ["rpc_system", "rpc_service", "rpc_method", "rpc_response_status_code"],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [reference],
    });
    const active = new Gauge({ name: "rpc_server_active_requests", help: help("rpc_server_active_requests"), labelNames: ["rpc_system", "rpc_service", "rpc_method"], registers: [reference] });

    const calls: { procedure: string; protocol: string; system: string; service: string; method: string }[] = [
      { procedure: `${service}/InitiateVerification`, protocol: "grpc", system: "grpc", service, method: "InitiateVerification" },
      { procedure: `${service}/InitiateVerification`, protocol: "grpc-web", system: "grpc", service, method: "InitiateVerification" },
      { procedure: `${service}/ValidateVerification`, protocol: "connect", system: "connect_rpc", service, method: "ValidateVerification" },
      { procedure: "unknown", protocol: "connect", system: "connect_rpc", service: "unknown", method: "unknown" },
    ];
    const start = (call: number) => {
      const { procedure, protocol, system, service, method } = calls[call]!;
      metrics.started(procedure, protocol);
      active.inc({ rpc_system: system, rpc_service: service, rpc_method: method });
    };
    const end = (call: number, code: Code | undefined, codeName: string, seconds: number, wasStarted = true) => {
      const { procedure, protocol, system, service, method } = calls[call]!;
      metrics.ended(procedure, protocol, code, seconds, wasStarted);
      if (wasStarted) active.dec({ rpc_system: system, rpc_service: service, rpc_method: method });
      duration.observe({ rpc_system: system, rpc_service: service, rpc_method: method, rpc_response_status_code: codeName }, seconds);
    };
    end(3, Code.Unimplemented, "UNIMPLEMENTED", 0.0001, false);
    start(2);
    start(0);
    end(0, undefined, "OK", 0.004);
    start(1);
    start(2);
    end(2, Code.InvalidArgument, "INVALID_ARGUMENT", 0.01);
    end(1, Code.Canceled, "CANCELLED", 12);
    start(0);
    end(0, Code.ResourceExhausted, "RESOURCE_EXHAUSTED", 0.5);
    start(0);
    end(0, undefined, "OK", 0.0001);
    start(0);

    const text = await registry.metrics();
    expect(text).toBe(await reference.metrics());
    // gRPC and gRPC-Web share their series, the never-started call shows none, two calls are still active.
    expect(sampleValue(text, "rpc_server_call_duration_seconds_count", `rpc_system="grpc",rpc_service="${service}",rpc_method="InitiateVerification",rpc_response_status_code="OK"`)).toBe(2);
    expect(text).not.toMatch(/^rpc_server_active_requests\{[^}]*rpc_method="unknown"/m);
    expect(sampleValue(text, "rpc_server_active_requests", `rpc_system="connect_rpc",rpc_service="${service}",rpc_method="ValidateVerification"`)).toBe(1);
    expect(sampleValue(text, "rpc_server_active_requests", `rpc_system="grpc",rpc_service="${service}",rpc_method="InitiateVerification"`)).toBe(1);
    // Read twice: a scrape changes nothing.
    expect(await registry.metrics()).toBe(text);
  });
});
