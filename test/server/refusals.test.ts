import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Health } from "../../gen/grpc/health/v1/health_pb.js";
import { VerificationService } from "../../gen/onetime/v1/verification_service_pb.js";
import { capturingLogger } from "../support/capturingLogger.js";
import { sampleValue, scrapeMetrics } from "../support/metricsText.js";
import { backends, startTestServer, type TestServer } from "../support/server.js";
import { verificationClient } from "../support/verificationClient.js";


describe.each(backends)("every refusal is an answer in the caller's protocol (%s backends)", (backend) => {
  let server: TestServer;
  let records: Record<string, unknown>[];
  beforeAll(async () => {
    const captured = capturingLogger("warn");
    records = captured.records;
    server = await startTestServer(backend, "refusals", {}, {}, captured.logger);
  });
  afterAll(async () => {
    await server?.stop();
  });

  /** POSTs to the server as curl would; returns status, request id, the JSON body. */
  async function post(path: string, init: { contentType?: string; body?: string; method?: string; requestId?: string } = {}) {
    const headers: Record<string, string> = {};
    if (init.contentType !== undefined) headers["content-type"] = init.contentType;
    if (init.requestId !== undefined) headers["x-request-id"] = init.requestId;
    const response = await fetch(`${server.url}${path}`, { method: init.method ?? "POST", headers, ...(init.body === undefined ? {} : { body: init.body }) });
    const text = await response.text();
    return { status: response.status, requestId: response.headers.get("x-request-id"), body: JSON.parse(text) as { code: string; message: string } };
  }

  /** The one log line of the call with this request id. */
  function lineOf(requestId: string | null) {
    const lines = records.filter((record) => record.requestId === requestId);
    expect(lines).toHaveLength(1);
    return lines[0]!;
  }

  /** Calls of `procedure` ended with `code`, as rpc_server_call_duration_seconds counts them. */
  async function counted(procedure: string, system: string, code: string): Promise<number> {
    const [service, method] = procedure === "unknown" ? ["unknown", "unknown"] : procedure.split("/");
    const text = await scrapeMetrics(server.metricsUrl);
    const labels = `rpc_system="${system}",rpc_service="${service}",rpc_method="${method}",rpc_response_status_code="${code}"`;
    return sampleValue(text, "rpc_server_call_duration_seconds_count", labels);
  }

  it("answers an unknown RPC over Connect with a JSON error naming the services served, logged and counted", async () => {
    const before = await counted("unknown", "connect_rpc", "UNIMPLEMENTED");
    const answer = await post("/onetime.v1.VerificationService/Initiate", { contentType: "application/json", body: "{}", requestId: "unknown-rpc-1" });
    expect(answer.body.code).toBe("unimplemented");
    expect(answer.body.message).toContain("onetime.v1.VerificationService");
    expect(answer.body.message).toContain("grpc.health.v1.Health");
    expect(answer.requestId).toBe("unknown-rpc-1");
    expect(lineOf("unknown-rpc-1")).toMatchObject({ msg: "rpc refused", procedure: "unknown", outcome: "Unimplemented" });
    expect(await counted("unknown", "connect_rpc", "UNIMPLEMENTED")).toBe(before + 1);
  });

  it("answers an unknown service over gRPC and gRPC-Web with a status, not an HTTP 404", async () => {
    // A path prefix makes every RPC of the client one the server does not have.
    const baseUrl = `${server.url}/no.such.v1`;
    const transports: Transport[] = [createGrpcTransport({ baseUrl }), createGrpcWebTransport({ baseUrl, httpVersion: "1.1" })];
    for (const transport of transports) {
      let requestId: string | null = null;
      const error = await createClient(Health, transport)
        .check({}, { onHeader: (headers) => (requestId = headers.get("x-request-id")) })
        .catch((caught: unknown) => ConnectError.from(caught));
      expect(error).toBeInstanceOf(ConnectError);
      expect((error as ConnectError).code).toBe(Code.Unimplemented);
      expect((error as ConnectError).rawMessage).toContain("onetime.v1.VerificationService");
      const fromError = (error as ConnectError).metadata.get("x-request-id");
      expect(requestId ?? fromError).toMatch(/^[0-9a-f-]{36}$/);
    }
  });

  it("answers a content type no protocol takes with the ones accepted", async () => {
    const answer = await post("/grpc.health.v1.Health/Check", { contentType: "text/plain", body: "{}", requestId: "wrong-type-1" });
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({ code: "invalid_argument" });
    expect(answer.body.message).toContain("application/json");
    expect(answer.body.message).toContain("application/grpc");
    expect(answer.requestId).toBe("wrong-type-1");
    expect(lineOf("wrong-type-1")).toMatchObject({ procedure: "grpc.health.v1.Health/Check", outcome: "InvalidArgument" });
  });

  it("tells a Connect caller of a streaming RPC its content types, which are not the unary ones", async () => {
    const answer = await post("/grpc.health.v1.Health/Watch", { contentType: "application/json", body: "{}", requestId: "stream-type-1" });
    expect(answer.body).toMatchObject({ code: "invalid_argument" });
    expect(answer.body.message).toContain("server-streaming RPC: send application/connect+json or application/connect+proto (Connect)");
    expect(lineOf("stream-type-1")).toMatchObject({ procedure: "grpc.health.v1.Health/Watch", outcome: "InvalidArgument" });
  });

  it("answers a CORS preflight, when no origin is allowed, saying which setting allows one", async () => {
    const answer = await post("/grpc.health.v1.Health/Check", { method: "OPTIONS", requestId: "preflight-1" });
    expect(answer.body.code).toBe("permission_denied");
    expect(answer.body.message).toContain("CORS_ORIGINS");
    expect(answer.requestId).toBe("preflight-1");
    expect(lineOf("preflight-1")).toMatchObject({ outcome: "PermissionDenied" });
  });

  it("answers JSON it cannot decode with a request id, a log line and a count", async () => {
    const before = await counted("grpc.health.v1.Health/Check", "connect_rpc", "INVALID_ARGUMENT");
    const answer = await post("/grpc.health.v1.Health/Check", { contentType: "application/json", body: "{not json", requestId: "bad-json-1" });
    expect(answer.body.code).toBe("invalid_argument");
    expect(answer.requestId).toBe("bad-json-1");
    expect(lineOf("bad-json-1")).toMatchObject({ msg: "rpc refused", procedure: "grpc.health.v1.Health/Check", outcome: "InvalidArgument" });
    expect(await counted("grpc.health.v1.Health/Check", "connect_rpc", "INVALID_ARGUMENT")).toBe(before + 1);
  });

  it("answers an oversized request naming MAX_REQUEST_BYTES and its limit, on every protocol", async () => {
    const limit = server.config.limits.maxRequestBytes;
    const answer = await post("/grpc.health.v1.Health/Check", {
      contentType: "application/json",
      body: JSON.stringify({ service: "x".repeat(limit + 1) }),
      requestId: "too-large-1",
    });
    expect(answer.body.code).toBe("resource_exhausted");
    expect(answer.body.message).toContain(`MAX_REQUEST_BYTES allows (${limit} bytes)`);
    expect(answer.requestId).toBe("too-large-1");
    expect(lineOf("too-large-1")).toMatchObject({ outcome: "ResourceExhausted" });

    const transports: Transport[] = [
      createGrpcTransport({ baseUrl: server.url }),
      createGrpcWebTransport({ baseUrl: server.url, httpVersion: "1.1" }),
      createConnectTransport({ baseUrl: server.url, httpVersion: "2", useBinaryFormat: true }),
    ];
    for (const transport of transports) {
      const error = await createClient(VerificationService, transport)
        .getVerification({ verificationId: "x".repeat(limit + 1) })
        .catch((caught: unknown) => ConnectError.from(caught));
      expect(error).toMatchObject({ code: Code.ResourceExhausted });
      expect((error as ConnectError).rawMessage).toContain("MAX_REQUEST_BYTES");
    }
    // A message just under the limit still reaches the field rules.
    const fits = await (await verificationClient(server.url))
      .getVerification({ verificationId: "x".repeat(limit - 10) })
      .catch((caught: unknown) => ConnectError.from(caught));
    expect(fits).toMatchObject({ code: Code.InvalidArgument });
  });
});
