import { connect as http2Connect } from "node:http2";
import { create, toBinary } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Health } from "../../gen/grpc/health/v1/health_pb.js";
import { ServerReflectionRequestSchema } from "../../gen/grpc/reflection/v1/reflection_pb.js";
import { capturingLogger } from "../support/capturingLogger.js";
import { envelope } from "../support/rawRequests.js";
import { startTestServer, type TestServer } from "../support/server.js";

describe("a call its client cancels is logged and counted as canceled, never internal", () => {
  let server: TestServer;
  let records: Record<string, unknown>[];
  beforeAll(async () => {
    const captured = capturingLogger();
    records = captured.records;
    server = await startTestServer("real", "clientcancel", {}, {}, captured.logger);
  });
  afterAll(async () => {
    await server?.stop();
  });

  async function lineOf(procedure: string, protocol: string): Promise<Record<string, unknown>> {
    await expect.poll(() => records.some((record) => record.procedure === procedure && record.protocol === protocol)).toBe(true);
    return records.find((record) => record.procedure === procedure && record.protocol === protocol)!;
  }

  async function canceledCount(method: string, system: string): Promise<number> {
    const metrics = await server.server.app.metrics.registry.metrics();
    const line = metrics
      .split("\n")
      .find((each) => each.startsWith("rpc_server_call_duration_seconds_count{") && each.includes(`rpc_system="${system}"`) && each.includes(`rpc_method="${method}"`) && each.includes('rpc_response_status_code="CANCELLED"'));
    return Number(line?.split(" ").at(-1) ?? 0);
  }

  it("a reflection stream whose client goes away mid-call, as buf curl does when stopped (it was INTERNAL, logged at error with a stack)", async () => {
    const session = http2Connect(server.url);
    const stream = session.request({ ":method": "POST", ":path": "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo", "content-type": "application/grpc", te: "trailers" });
    stream.on("error", () => undefined);
    // One request, the request stream left open, as buf curl holds it while its call runs.
    stream.write(envelope(toBinary(ServerReflectionRequestSchema, create(ServerReflectionRequestSchema, { messageRequest: { case: "listServices", value: "" } }))));
    await new Promise((resolve) => stream.once("data", resolve));
    session.destroy();

    const line = await lineOf("grpc.reflection.v1.ServerReflection/ServerReflectionInfo", "grpc");
    expect(line).toMatchObject({ level: "info", outcome: "Canceled", msg: "rpc canceled" });
    expect(line.err).toBeUndefined();
    expect(await canceledCount("ServerReflectionInfo", "grpc")).toBe(1);
  });

  it("a Watch cancelled mid-stream by grpc-js (it was logged ok)", async () => {
    const client = new grpc.Client(new URL(server.url).host, grpc.credentials.createInsecure());
    const call = client.makeServerStreamRequest("/grpc.health.v1.Health/Watch", () => Buffer.alloc(0), (bytes: Buffer) => bytes, {});
    call.on("error", () => undefined);
    await new Promise((resolve) => call.once("data", resolve));
    call.cancel();
    const line = await lineOf("grpc.health.v1.Health/Watch", "grpc");
    client.close();
    expect(line).toMatchObject({ level: "info", outcome: "Canceled" });
    expect(await canceledCount("Watch", "grpc")).toBe(1);
  });

  it("a Watch whose HTTP/1.1 Connect client goes away", async () => {
    const client = createClient(Health, createConnectTransport({ baseUrl: server.url, httpVersion: "1.1" }));
    const leaving = new AbortController();
    await (async () => {
      for await (const _ of client.watch({}, { signal: leaving.signal })) leaving.abort();
    })().catch(() => undefined);
    const line = await lineOf("grpc.health.v1.Health/Watch", "connect");
    expect(line).toMatchObject({ level: "info", outcome: "Canceled" });
    expect(await canceledCount("Watch", "connect_rpc")).toBe(1);
  });

  it("leaves nothing logged at error", () => {
    expect(records.filter((record) => record.level === "error")).toEqual([]);
  });
});
