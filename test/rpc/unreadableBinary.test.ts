import { createHash } from "node:crypto";
import { fromBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { HealthCheckRequestSchema } from "../../gen/grpc/health/v1/health_pb.js";
import { WatchAuthTokenRequestSchema } from "../../gen/onetime/v1/account_token_service_pb.js";
import { VerificationService } from "../../gen/onetime/v1/verification_service_pb.js";
import { capturingLogger } from "../support/capturingLogger.js";
import { sampleValue, scrapeMetrics } from "../support/metricsText.js";
import { connectError, connectStreamError, envelope, grpcError, grpcWebError, postHttp1, postHttp2, type RawResponse } from "../support/rawRequests.js";
import { backends, startTestServer, type TestServer } from "../support/server.js";

const checkPath = "/grpc.health.v1.Health/Check";
const watchPath = "/grpc.health.v1.Health/Watch";
const watchTokenPath = "/onetime.v1.AccountTokenService/WatchAuthToken";

/** 700 bytes that look random, the same every run; protobuf-es refuses them (checked below). */
const noise = Buffer.concat(Array.from({ length: 22 }, (_, index) => createHash("sha256").update(`noise ${index}`).digest())).subarray(0, 700);

/** Bodies that are no message at all, each with the parser's complaint Connect used to pass on. */
const unreadable: readonly (readonly [string, Buffer])[] = [
  ["a length running past the end (premature EOF)", Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01])],
  ["wire type 7 (illegal tag)", Buffer.from([0x0f])],
  ["a varint cut short", Buffer.from([0x08, 0xff])],
  ["700 noisy bytes", noise],
];

/** The parser's words, which say how the server reads and nothing the caller can act on. */
const parserWords = /premature EOF|illegal tag|wire type|parse binary|invalid|out of range/i;

type Protocol = "connect" | "connect-stream" | "grpc" | "grpc-web";

/** Sends `message` as `protocol` frames it, and reads the error back as a client would. */
async function send(url: string, path: string, protocol: Protocol, message: Buffer, flags = 0): Promise<ConnectError> {
  const framed = () => {
    const body = envelope(message);
    body[0] = flags;
    return body;
  };
  switch (protocol) {
    case "connect":
      return connectError(await postHttp1(url, path, { "content-type": "application/proto" }, message));
    case "connect-stream":
      return connectStreamError(await postHttp1(url, path, { "content-type": "application/connect+proto" }, framed()));
    case "grpc":
      return grpcError(await postHttp2(url, path, { "content-type": "application/grpc", te: "trailers" }, framed()));
    case "grpc-web":
      return grpcWebError(await postHttp1(url, path, { "content-type": "application/grpc-web+proto" }, framed()));
  }
}

function expectMalformed(error: ConnectError, typeName: string): void {
  expect(error.code).toBe(Code.InvalidArgument);
  expect(error.rawMessage).toContain(`the request body is not a valid ${typeName} message`);
  expect(error.rawMessage.replace(typeName, "")).not.toMatch(parserWords);
  expect(error.findDetails(ErrorInfoSchema)[0]).toMatchObject({ reason: "MALFORMED_MESSAGE", domain: "onetime.v1" });
}

describe.each(backends)("a body that is no message is invalid_argument, on every protocol (%s backends)", (backend) => {
  let server: TestServer;
  let records: Record<string, unknown>[];
  beforeAll(async () => {
    const captured = capturingLogger("warn");
    records = captured.records;
    server = await startTestServer(backend, "unreadable", {}, {}, captured.logger);
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("the noise is no message to protobuf-es either", () => {
    expect(() => fromBinary(HealthCheckRequestSchema, noise)).toThrow();
  });

  for (const [what, body] of unreadable) {
    it(`answers ${what} to a unary RPC (Health/Check) as invalid_argument naming the type`, async () => {
      for (const protocol of ["connect", "grpc", "grpc-web"] as const) {
        expectMalformed(await send(server.url, checkPath, protocol, body), "grpc.health.v1.HealthCheckRequest");
      }
    });

    it(`answers ${what} to a server-streaming RPC (Health/Watch) as invalid_argument naming the type`, async () => {
      for (const protocol of ["connect-stream", "grpc", "grpc-web"] as const) {
        expectMalformed(await send(server.url, watchPath, protocol, body), "grpc.health.v1.HealthCheckRequest");
      }
    });
  }

  it("answers WatchAuthToken the same, before asking who calls", async () => {
    for (const protocol of ["connect-stream", "grpc", "grpc-web"] as const) {
      expectMalformed(await send(server.url, watchTokenPath, protocol, unreadable[0]![1]), WatchAuthTokenRequestSchema.typeName);
    }
  });

  it("answers a message flagged compressed with no encoding named as invalid_argument, saying so", async () => {
    const message = Buffer.from([0x0a, 0x00]);
    for (const protocol of ["connect-stream", "grpc", "grpc-web"] as const) {
      for (const path of [checkPath, watchPath]) {
        if (protocol === "connect-stream" && path === checkPath) continue;
        const error = await send(server.url, path, protocol, message, 0x01);
        expectMalformed(error, "grpc.health.v1.HealthCheckRequest");
        expect(error.rawMessage).toContain("flagged compressed");
      }
    }
  });

  it("logs it as a refusal, not a failure, and counts it as invalid_argument", async () => {
    const labels = `rpc_system="grpc",rpc_service="grpc.health.v1.Health",rpc_method="Check",rpc_response_status_code="INVALID_ARGUMENT"`;
    const before = sampleValue(await scrapeMetrics(server.metricsUrl), "rpc_server_call_duration_seconds_count", labels);
    const answer: RawResponse = await postHttp2(
      server.url,
      checkPath,
      { "content-type": "application/grpc", te: "trailers", "x-request-id": "unreadable-binary-1" },
      envelope(Buffer.from([0x0f])),
    );
    expectMalformed(grpcError(answer), "grpc.health.v1.HealthCheckRequest");
    const lines = records.filter((record) => record.requestId === "unreadable-binary-1");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: "warn", msg: "rpc refused", outcome: "InvalidArgument" });
    expect(lines[0]).not.toHaveProperty("err");
    expect(records.filter((record) => record.msg === "rpc failed")).toEqual([]);
    expect(sampleValue(await scrapeMetrics(server.metricsUrl), "rpc_server_call_duration_seconds_count", labels)).toBe(before + 1);
  });

  it("logs a refusal Connect answered gzipped as a refusal too, and counts it", async () => {
    const labels = `rpc_system="connect_rpc",rpc_service="grpc.health.v1.Health",rpc_method="Check",rpc_response_status_code="INVALID_ARGUMENT"`;
    const before = sampleValue(await scrapeMetrics(server.metricsUrl), "rpc_server_call_duration_seconds_count", labels);
    // A key long enough that the refusal naming it passes 1 KiB, which Connect compresses.
    const answer = await postHttp1(
      server.url,
      checkPath,
      { "content-type": "application/json", "accept-encoding": "gzip", "x-request-id": "gzipped-refusal-1" },
      Buffer.from(JSON.stringify({ [`k${"x".repeat(1500)}`]: 1 })),
    );
    expect(answer.status).toBe(400);
    expect(answer.headers.get("content-encoding")).toBe("gzip");
    const lines = records.filter((record) => record.requestId === "gzipped-refusal-1");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: "warn", msg: "rpc refused", outcome: "InvalidArgument" });
    expect(sampleValue(await scrapeMetrics(server.metricsUrl), "rpc_server_call_duration_seconds_count", labels)).toBe(before + 1);
  });

  it("still serves a well-formed binary message", async () => {
    const answer = await postHttp2(server.url, checkPath, { "content-type": "application/grpc", te: "trailers" }, envelope(Buffer.alloc(0)));
    expect(answer.trailers.get("grpc-status")).toBe("0");
  });

  it("names MAX_REQUEST_BYTES and the same number on every protocol, however far over", async () => {
    const limit = server.config.limits.maxRequestBytes;
    const transports: Transport[] = [
      createGrpcTransport({ baseUrl: server.url }),
      createGrpcWebTransport({ baseUrl: server.url, httpVersion: "1.1" }),
      createConnectTransport({ baseUrl: server.url, httpVersion: "2", useBinaryFormat: true }),
      createConnectTransport({ baseUrl: server.url, httpVersion: "1.1" }),
    ];
    for (const over of [1, 100, 10 * limit]) {
      // Connect JSON over HTTP/1.1 is refused by its Content-Length alone, and a body ten times
      // the limit then waits on an upload the server does not read: a separate problem.
      for (const transport of over > limit ? transports.slice(0, 3) : transports) {
        const error = await createClient(VerificationService, transport)
          .getVerification({ verificationId: "x".repeat(limit + over) })
          .catch((caught: unknown) => ConnectError.from(caught));
        expect(error).toMatchObject({ code: Code.ResourceExhausted });
        expect((error as ConnectError).rawMessage).toContain(`MAX_REQUEST_BYTES allows (${limit} bytes)`);
        expect((error as ConnectError).rawMessage).not.toContain("readMaxBytes");
      }
    }
  });

  it("names MAX_REQUEST_BYTES as soon as an envelope declares too much, before the bytes arrive", async () => {
    const limit = server.config.limits.maxRequestBytes;
    const head = Buffer.alloc(5);
    head.writeUInt32BE(limit + 1, 1);
    const grpc = grpcError(await postHttp2(server.url, checkPath, { "content-type": "application/grpc", te: "trailers" }, Buffer.concat([head, Buffer.alloc(10)])));
    expect(grpc.code).toBe(Code.ResourceExhausted);
    expect(grpc.rawMessage).toContain(`MAX_REQUEST_BYTES allows (${limit} bytes)`);
  });
});
