import { connect as connectTcp } from "node:net";
import { Code, ConnectError, createClient, createRouterTransport } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { describe, expect, it } from "vitest";
import { Health, HealthCheckResponse_ServingStatus as Status } from "../../gen/grpc/health/v1/health_pb.js";
import { CallGate } from "../../src/rpc/interceptors/callGate.js";
import { errorBoundary } from "../../src/rpc/interceptors/errorBoundary.js";
import { startTestServer } from "../support/server.js";

// These start an embedded server (PGlite) inside the test: ~15 s on a busy two-core machine.
const embeddedStartMs = 60_000;

describe("graceful shutdown", () => {
  it("reports NOT_SERVING to watchers, ends their streams with unavailable and stops listening", async () => {
    const server = await startTestServer("real", "shutdown");
    const client = createClient(Health, createGrpcTransport({ baseUrl: server.url }));
    const seen: Status[] = [];
    const watching = (async () => {
      for await (const update of client.watch({ service: "onetime.v1.TokenService" })) seen.push(update.status);
    })().catch((error: unknown) => ConnectError.from(error));
    await expect.poll(() => seen).toEqual([Status.SERVING]);
    // An idle HTTP/1.1 keep-alive connection must not hold shutdown up until the timeout.
    await fetch(`${server.url}/grpc.health.v1.Health/Check`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });

    const started = performance.now();
    await server.server.shutdown();
    expect(performance.now() - started).toBeLessThan(server.config.shutdownTimeoutMs / 2);
    await server.stop();
    // Unavailable, so a client watching through a load balancer moves to another instance.
    expect((await watching)?.code).toBe(Code.Unavailable);
    expect(seen).toEqual([Status.SERVING, Status.NOT_SERVING]);
    await expect(fetch(`${server.url}/grpc.health.v1.Health/Check`, { method: "POST" })).rejects.toThrow();
  });

  it("answers health checks with NOT_SERVING during the drain delay, and is not held up by silent connections", async () => {
    const server = await startTestServer("embedded", "drain-delay", { SHUTDOWN_DRAIN_DELAY_MS: "400" });
    // A client that connected and never said anything (a pre-connecting pool, a port probe).
    const silent = connectTcp(new URL(server.url).port === "" ? 80 : Number(new URL(server.url).port), "127.0.0.1");
    await new Promise((resolve) => silent.once("connect", resolve));
    const client = createClient(Health, createGrpcTransport({ baseUrl: server.url }));

    const started = performance.now();
    const stopping = server.server.shutdown();
    expect((await client.check({})).status).toBe(Status.NOT_SERVING);
    await stopping;
    const took = performance.now() - started;
    expect(took).toBeGreaterThanOrEqual(390);
    expect(took).toBeLessThan(server.config.shutdownTimeoutMs / 2);
    silent.destroy();
    await server.stop();
  }, embeddedStartMs);

  it("closes a connection that stays silent past the idle timeout", async () => {
    const server = await startTestServer("embedded", "idle", { IDLE_TIMEOUT_MS: "200" });
    try {
      const silent = connectTcp(Number(new URL(server.url).port), "127.0.0.1");
      const closed = new Promise<number>((resolve) => {
        const opened = performance.now();
        silent.once("close", () => resolve(performance.now() - opened));
      });
      silent.write("POST /grpc.health.v1.Health/Check HTTP/1.1\r\nHost: x\r\n"); // headers never finish
      expect(await closed).toBeLessThan(2_000);
    } finally {
      await server.stop();
    }
  }, embeddedStartMs);

  it("reports SERVICE_UNKNOWN to a watcher of an unknown service instead of failing", async () => {
    const server = await startTestServer("embedded", "watch-unknown");
    try {
      const client = createClient(Health, createGrpcTransport({ baseUrl: server.url }));
      const abort = new AbortController();
      const stream = client.watch({ service: "no.such.Service" }, { signal: abort.signal });
      const first = await stream[Symbol.asyncIterator]().next();
      expect(first.value?.status).toBe(Status.SERVICE_UNKNOWN);
      abort.abort();
    } finally {
      await server.stop();
    }
  }, embeddedStartMs);
});

describe("call gate", () => {
  function gatedHealth() {
    const gate = new CallGate();
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const transport = createRouterTransport(
      (router) =>
        router.service(Health, {
          async check() {
            await released;
            return {};
          },
        }),
      { router: { interceptors: [errorBoundary, gate.interceptor] } },
    );
    return { gate, release, client: createClient(Health, transport) };
  }

  it("lets in-flight calls finish and refuses new ones with unavailable", async () => {
    const { gate, release, client } = gatedHealth();
    const inFlight = client.check({});
    await expect.poll(() => gate.active).toBe(1);

    gate.close();
    const refused = await client.check({}).catch((error: unknown) => ConnectError.from(error));
    expect(refused).toBeInstanceOf(ConnectError);
    expect((refused as ConnectError).code).toBe(Code.Unavailable);

    const idle = gate.idle(5_000);
    release();
    await expect(inFlight).resolves.toBeDefined();
    await expect(idle).resolves.toBe(true);
  });

  it("stops waiting after the timeout when a call does not finish", async () => {
    const { gate, release, client } = gatedHealth();
    const inFlight = client.check({});
    await expect.poll(() => gate.active).toBe(1);
    gate.close();
    await expect(gate.idle(50)).resolves.toBe(false);
    release();
    await inFlight;
  });
});
