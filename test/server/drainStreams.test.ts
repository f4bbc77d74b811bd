import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { describe, expect, it } from "vitest";
import { ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { Health, HealthCheckResponse_ServingStatus as Status } from "../../gen/grpc/health/v1/health_pb.js";
import { AuthTokenState } from "../../gen/onetime/v1/account_token_service_pb.js";
import { accountTokenClient } from "../support/accountTokenClient.js";
import { capturingLogger } from "../support/capturingLogger.js";
import { startTestServer } from "../support/server.js";
import type { Protocol } from "../support/verificationClient.js";

/** Reads a stream to its end; resolves with the error it ended with (undefined: it ended OK). */
async function endOf<T>(stream: AsyncIterable<T>, seen: T[] = []): Promise<ConnectError | undefined> {
  try {
    for await (const message of stream) seen.push(message);
    return undefined;
  } catch (error) {
    return ConnectError.from(error);
  }
}

describe("draining ends every stream with unavailable", () => {
  it("ends open WatchAuthToken and Health/Watch streams at once, over gRPC and Connect (HTTP/1.1), so clients move to another instance; logged and counted as unavailable", async () => {
    const { logger, records } = capturingLogger();
    // The timeout is what an open stream used to hold the drain for.
    const server = await startTestServer("real", "drainstreams", { SHUTDOWN_TIMEOUT_MS: "30000" }, {}, logger);
    const protocols: Protocol[] = ["grpc", "connect-json"];
    const watches = await Promise.all(
      protocols.map(async (protocol) => {
        const device = await accountTokenClient(server.url, undefined, protocol);
        const { deviceSecret } = await device.createAuthToken({});
        const seen: { state: AuthTokenState }[] = [];
        const ended = endOf(device.watchAuthToken({ deviceSecret }), seen);
        return { seen, ended };
      }),
    );
    const health = createClient(Health, createGrpcTransport({ baseUrl: server.url }));
    const statuses: { status: Status }[] = [];
    const healthEnded = endOf(health.watch({ service: "" }), statuses);
    await expect.poll(() => watches.every((watch) => watch.seen.length === 1) && statuses.length === 1).toBe(true);

    const started = performance.now();
    await server.server.shutdown();
    expect(performance.now() - started).toBeLessThan(server.config.shutdownTimeoutMs / 2);
    const metrics = await server.server.app.metrics.registry.metrics();
    await server.stop();

    for (const ended of [...watches.map((watch) => watch.ended), healthEnded]) {
      const error = await ended;
      expect(error?.code).toBe(Code.Unavailable);
      expect(error?.findDetails(ErrorInfoSchema)[0]?.reason).toBe("SHUTTING_DOWN");
    }
    expect(watches.map((watch) => watch.seen.map((message) => message.state))).toEqual(protocols.map(() => [AuthTokenState.PENDING]));
    // Draining says NOT_SERVING before it ends the stream.
    expect(statuses.map((message) => message.status)).toEqual([Status.SERVING, Status.NOT_SERVING]);

    const lines = records.filter((record) => /\/(Watch|WatchAuthToken)$/.test(String(record.procedure)));
    expect(lines.map((line) => [line.procedure, line.outcome, line.level])).toEqual(
      expect.arrayContaining([
        ["onetime.v1.AccountTokenService/WatchAuthToken", "Unavailable", "warn"],
        ["grpc.health.v1.Health/Watch", "Unavailable", "warn"],
      ]),
    );
    expect(lines.filter((line) => line.outcome !== "Unavailable")).toEqual([]);
    const counted = metrics
      .split("\n")
      .filter((line) => line.startsWith("rpc_server_call_duration_seconds_count{") && line.includes('rpc_method="WatchAuthToken"'));
    expect(counted.filter((line) => !line.includes('rpc_response_status_code="UNAVAILABLE"'))).toEqual([]);
    expect(counted.reduce((sum, line) => sum + Number(line.split(" ").at(-1)), 0)).toBe(protocols.length);
  });
});
