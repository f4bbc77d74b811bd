import { spawn, execFile, type ChildProcess } from "node:child_process";
import { promisify } from "node:util";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { VerificationMethod } from "../../gen/onetime/v1/verification_service_pb.js";
import { freePort } from "../support/privateRedis.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { failure, verificationClient, type VerificationClient } from "../support/verificationClient.js";
import { scrapeMetrics } from "../support/metricsText.js";
import { capturingLogger } from "../support/capturingLogger.js";

/** A Redis of this test's own, so it can be stopped under a running onetime. */
describe("when Redis goes away", () => {
  let redis: ChildProcess;
  let port: number;
  let server: TestServer;
  let client: VerificationClient;
  const captured = capturingLogger("info");

  /** Starts (or starts again) the private Redis on `port`, with no persistence: a crash loses all. */
  async function startRedis(): Promise<void> {
    redis = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], { stdio: "ignore" });
    for (let tries = 0; ; tries++) {
      const up = await promisify(execFile)("redis-cli", ["-p", String(port), "ping"]).then(() => true, () => false);
      if (up) break;
      if (tries > 50) throw new Error("private redis-server did not start");
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  beforeAll(async () => {
    port = await freePort();
    await startRedis();
    server = await startTestServer("real", "fail_closed", { REDIS_URL: `redis://127.0.0.1:${port}` }, {}, captured.logger);
    client = await verificationClient(server.url);
  });
  afterAll(async () => {
    redis?.kill("SIGKILL");
    await server?.stop();
  });

  let lostVerification = "";

  it("answers unavailable, never a success it cannot back", async () => {
    const { verification } = await client.initiateVerification({ method: VerificationMethod.EMAIL, consumer: "ada@example.com", policy: { forcedCode: "515151" } });
    lostVerification = verification!.verificationId;
    redis.kill("SIGKILL");
    await new Promise((resolve) => redis.once("exit", resolve));
    expect(await failure(client.validateVerification({ verificationId: verification!.verificationId, code: "515151" }))).toMatchObject({
      code: Code.Unavailable,
    });
    expect(await failure(client.initiateVerification({ method: VerificationMethod.EMAIL, consumer: "bob@example.com" }))).toMatchObject({
      code: Code.Unavailable,
    });
  });

  it("keeps reporting SERVING meanwhile: a store outage is not a reason to pull this instance", async () => {
    // Every instance shares the store; failing health would take them all out of rotation at
    // once, turning a blip of Redis into a full outage. Calls answer `unavailable` instead.
    const response = await fetch(`${server.url}/grpc.health.v1.Health/Check`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ service: "onetime.v1.VerificationService" }),
    });
    expect(await response.json()).toEqual({ status: "SERVING" });
  });

  it("counts the failed commands at /metrics, for an alert to see what the load balancer does not", async () => {
    const metrics = await scrapeMetrics(server.metricsUrl);
    const failed = metrics
      .split("\n")
      .find((line) => line.startsWith('db_client_operation_duration_seconds_count{db_system_name="redis",db_operation_name="EVALSHA",db_query_summary="EVALSHA onetimeSecrets_take",error_type='));
    expect(failed).toMatch(/error_type="unavailable"\} [1-9]/);
  });

  it("serves again once Redis is back, with no restart; a code Redis lost is not_found, never accepted", async () => {
    await startRedis();
    let started: Awaited<ReturnType<VerificationClient["initiateVerification"]>> | undefined;
    for (let attempt = 0; started === undefined; attempt++) {
      started = await client.initiateVerification({ method: VerificationMethod.EMAIL, consumer: "carol@example.com", policy: { forcedCode: "626262" } }).catch((error: unknown) => {
        if (attempt >= 40) throw error;
        return undefined;
      });
      if (started === undefined) await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const validated = await client.validateVerification({ verificationId: started.verification!.verificationId, code: "626262" });
    expect(validated.verification?.verificationId).toBe(started.verification!.verificationId);
    expect(await failure(client.validateVerification({ verificationId: lostVerification, code: "515151" }))).toMatchObject({ code: Code.NotFound });
  }, 20_000);

  it("logged once that the connection to that Redis was lost, and once that it is back, naming it", () => {
    // ioredis tried to reconnect many times meanwhile, each a failed connection: one line, not one each.
    const node = `127.0.0.1:${port}`;
    const states = captured.records.filter((record) => record.msg === "store connection lost" || record.msg === "store connection back");
    expect(states).toMatchObject([
      { level: "warn", msg: "store connection lost", store: "redis", node },
      { level: "info", msg: "store connection back", store: "redis", node },
    ]);
  });
});
