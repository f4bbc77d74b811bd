import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { createGrpcWebTransport } from "@connectrpc/connect-web";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  Health,
  HealthCheckRequestSchema,
  HealthCheckResponse_ServingStatus as Status,
  HealthCheckResponseSchema,
} from "../../gen/grpc/health/v1/health_pb.js";
import { backends, startTestServer, type TestServer } from "../support/server.js";

const run = promisify(execFile);

/** Health Check through a raw @grpc/grpc-js client: a real gRPC stack that is not Connect's. */
function grpcJsCheck(url: string, service: string): Promise<Status> {
  const client = new grpc.Client(new URL(url).host, grpc.credentials.createInsecure());
  return new Promise<Status>((resolve, reject) => {
    client.makeUnaryRequest(
      "/grpc.health.v1.Health/Check",
      (request: { service: string }) => Buffer.from(toBinary(HealthCheckRequestSchema, create(HealthCheckRequestSchema, request))),
      (bytes: Buffer) => fromBinary(HealthCheckResponseSchema, bytes),
      { service },
      (error, response) => {
        client.close();
        if (error !== null) reject(error);
        else resolve(response!.status);
      },
    );
  });
}

describe.each(backends)("one port serves every protocol (%s backends)", (backend) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(backend, "protocols");
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("answers gRPC over h2c from @grpc/grpc-js", async () => {
    expect(await grpcJsCheck(server.url, "")).toBe(Status.SERVING);
    expect(await grpcJsCheck(server.url, "onetime.v1.VerificationService")).toBe(Status.SERVING);
  });

  it("answers Connect JSON over HTTP/1.1 from plain fetch", async () => {
    const response = await fetch(`${server.url}/grpc.health.v1.Health/Check`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ service: "onetime.v1.TokenService" }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
    expect(await response.json()).toEqual({ status: "SERVING" });
  });

  it("answers gRPC-Web over HTTP/1.1", async () => {
    const client = createClient(Health, createGrpcWebTransport({ baseUrl: server.url }));
    expect((await client.check({})).status).toBe(Status.SERVING);
  });

  it("answers Connect binary and JSON over HTTP/1.1 and HTTP/2", async () => {
    for (const httpVersion of ["1.1", "2"] as const) {
      for (const useBinaryFormat of [true, false]) {
        const client = createClient(Health, createConnectTransport({ baseUrl: server.url, httpVersion, useBinaryFormat }));
        expect((await client.check({})).status).toBe(Status.SERVING);
      }
    }
  });

  it("answers gRPC from a Connect client, with errors carried as gRPC status", async () => {
    const client = createClient(Health, createGrpcTransport({ baseUrl: server.url }));
    await expect(client.check({ service: "no.such.Service" })).rejects.toMatchObject({ code: Code.NotFound });
  });

  it("serves reflection to buf curl, which then calls with no --schema", async () => {
    const buf = "node_modules/.bin/buf";
    const list = await run(buf, ["curl", "--list-services", "--http2-prior-knowledge", server.url]);
    expect(list.stdout.split("\n")).toEqual(
      expect.arrayContaining([
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection",
        "onetime.v1.AccountTokenService",
        "onetime.v1.TokenService",
        "onetime.v1.VerificationService",
      ]),
    );
    const call = await run(buf, [
      "curl",
      "--http2-prior-knowledge",
      "--protocol",
      "grpc",
      "-d",
      '{"service":"onetime.v1.AccountTokenService"}',
      `${server.url}/grpc.health.v1.Health/Check`,
    ]);
    expect(JSON.parse(call.stdout)).toEqual({ status: "SERVING" });
  });

  it("refuses a gRPC-Web body it cannot parse, and goes on serving", async () => {
    // The refusal comes before the body is read to its end, and Node then detaches the request
    // from its socket: the connection bookkeeping once crashed the process on exactly this.
    const unparseable = Buffer.from([0, 0, 0, 0, 1, "{".charCodeAt(0)]);
    const response = await fetch(`${server.url}/grpc.health.v1.Health/Check`, {
      method: "POST",
      headers: { "content-type": "application/grpc-web+json" },
      body: unparseable,
    });
    expect(new TextDecoder().decode(await response.arrayBuffer())).toMatch(/grpc-status: ?3\r\n/);
    const client = createClient(Health, createGrpcWebTransport({ baseUrl: server.url }));
    expect((await client.check({})).status).toBe(Status.SERVING);
  });

  it("refuses a request larger than the configured limit", async () => {
    const response = await fetch(`${server.url}/grpc.health.v1.Health/Check`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ service: "x".repeat(server.config.limits.maxRequestBytes + 1) }),
    });
    const body = (await response.json()) as { code: string };
    expect(body.code).toBe("resource_exhausted");
  });

  it("reports errors the same way on every protocol", async () => {
    const transports = [
      createConnectTransport({ baseUrl: server.url, httpVersion: "1.1" }),
      createGrpcTransport({ baseUrl: server.url }),
      createGrpcWebTransport({ baseUrl: server.url }),
    ];
    for (const transport of transports) {
      const error = await createClient(Health, transport)
        .check({ service: "missing" })
        .catch((caught: unknown) => ConnectError.from(caught));
      expect(error).toBeInstanceOf(ConnectError);
      expect((error as ConnectError).code).toBe(Code.NotFound);
    }
  });
});
