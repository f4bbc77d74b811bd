import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-web";
import { trailerFlag, trailerParse } from "@connectrpc/connect/protocol-grpc-web";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Health, HealthCheckRequestSchema, HealthCheckResponseSchema } from "../../gen/grpc/health/v1/health_pb.js";
import { grpcPercentEncoded } from "../../src/rpc/edge/grpcMessage.js";
import { startTestServer, type TestServer } from "../support/server.js";

// Every character Connect's encodeURIComponent escaped and grpc-js's decodeURI left escaped, a
// '%' that must survive, and text outside ASCII.
const awkwardName = "a:b;c/d,e?f#g&h=i+j$k@l 50% %3A é 日本 😀";
const unknownServiceMessage = `unknown service "${awkwardName}"`;

function serialize(request: { service: string }): Buffer {
  return Buffer.from(toBinary(HealthCheckRequestSchema, create(HealthCheckRequestSchema, request)));
}

function grpcJsError(call: (client: grpc.Client, done: (error: grpc.ServiceError | null) => void) => void, url: string): Promise<grpc.ServiceError> {
  const client = new grpc.Client(new URL(url).host, grpc.credentials.createInsecure());
  return new Promise<grpc.ServiceError>((resolve, reject) => {
    call(client, (error) => {
      client.close();
      if (error === null) reject(new Error("the call succeeded"));
      else resolve(error);
    });
  });
}

describe("grpc-message is spelled as the gRPC spec asks", () => {
  it("percent-encodes only bytes outside 0x20–0x7E, and '%'", () => {
    expect(grpcPercentEncoded("code: is not correct; 4 attempt(s) left")).toBe("code: is not correct; 4 attempt(s) left");
    expect(grpcPercentEncoded("a/b,c 100%")).toBe("a/b,c 100%25");
    expect(grpcPercentEncoded("é\n")).toBe("%C3%A9%0A");
  });

  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer("real", "grpcmessage", { MAX_WATCH_STREAM_MS: "1000" });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("reaches grpc-js callers as the server wrote it, in a trailers-only answer", async () => {
    const error = await grpcJsError(
      (client, done) => client.makeUnaryRequest("/grpc.health.v1.Health/Check", serialize, (bytes: Buffer) => fromBinary(HealthCheckResponseSchema, bytes), { service: awkwardName }, done),
      server.url,
    );
    expect(error.code).toBe(grpc.status.NOT_FOUND);
    expect(error.details).toBe(unknownServiceMessage);

    const refused = await grpcJsError(
      (client, done) =>
        client.makeUnaryRequest("/onetime.v1.VerificationService/ValidateVerification", () => Buffer.alloc(0), (bytes: Buffer) => bytes, {}, done),
      server.url,
    );
    expect(refused.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(refused.details).toBe("onetime.v1.VerificationService/ValidateVerification requires a bearer token");
  });

  it("reaches grpc-js callers as the server wrote it, in the trailers after a stream's messages", async () => {
    const client = new grpc.Client(new URL(server.url).host, grpc.credentials.createInsecure());
    const call = client.makeServerStreamRequest("/grpc.health.v1.Health/Watch", serialize, (bytes: Buffer) => bytes, { service: "" });
    let messages = 0;
    call.on("data", () => messages++);
    const error = await new Promise<grpc.ServiceError>((resolve) => call.on("error", resolve));
    client.close();
    expect(messages).toBeGreaterThan(0);
    expect(error.code).toBe(grpc.status.UNAVAILABLE);
    expect(error.details).toBe("this stream has been open 1 s, as long as MAX_WATCH_STREAM_MS allows: call again to go on watching");
  });

  it("is spelled the same in gRPC-Web's trailer frame, which Connect's gRPC-Web client still reads whole", async () => {
    const response = await fetch(`${server.url}/grpc.health.v1.Health/Check`, {
      method: "POST",
      headers: { "content-type": "application/grpc-web+proto", "x-grpc-web": "1" },
      body: envelope(serialize({ service: awkwardName })),
    });
    const body = new Uint8Array(await response.arrayBuffer());
    const status = response.headers.get("grpc-status") === null ? trailerOf(body) : response.headers;
    expect(status.get("grpc-message")).toBe(grpcPercentEncoded(unknownServiceMessage));

    const web = createClient(Health, createGrpcWebTransport({ baseUrl: server.url }));
    const error = await web.check({ service: awkwardName }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConnectError);
    expect((error as ConnectError).code).toBe(Code.NotFound);
    expect((error as ConnectError).rawMessage).toBe(unknownServiceMessage);
  });
});

function envelope(message: Buffer): Buffer {
  const header = Buffer.alloc(5);
  header.writeUInt32BE(message.length, 1);
  return Buffer.concat([header, message]);
}

function trailerOf(body: Uint8Array): Headers {
  let offset = 0;
  while (offset + 5 <= body.length) {
    const length = Buffer.from(body.buffer, body.byteOffset, body.byteLength).readUInt32BE(offset + 1);
    if ((body[offset]! & trailerFlag) === trailerFlag) return trailerParse(body.subarray(offset + 5, offset + 5 + length));
    offset += 5 + length;
  }
  throw new Error("no trailer frame");
}
