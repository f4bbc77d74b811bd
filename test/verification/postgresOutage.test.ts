import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { VerificationMethod } from "../../gen/onetime/v1/verification_service_pb.js";
import { capturingLogger } from "../support/capturingLogger.js";
import { testDatabaseUrl } from "../support/postgres.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { startTcpProxy, type TcpProxy } from "../support/tcpProxy.js";
import { failure, verificationClient, type VerificationClient } from "../support/verificationClient.js";

/**
 * Postgres cut off under a running onetime (through a proxy, so the shared Postgres is untouched):
 * the calls that need it answer `unavailable`, never a success they cannot back; health stays
 * SERVING; and once Postgres is back, the same process serves again, with no restart.
 */
describe("when Postgres goes away", () => {
  let proxy: TcpProxy;
  let server: TestServer;
  let client: VerificationClient;
  const captured = capturingLogger("info");

  beforeAll(async () => {
    const target = new URL(testDatabaseUrl());
    proxy = await startTcpProxy(target.hostname, Number(target.port || 5432));
    const viaProxy = new URL(testDatabaseUrl());
    viaProxy.port = String(proxy.port);
    server = await startTestServer("real", "pg_outage", { DATABASE_URL: viaProxy.toString() }, {}, captured.logger);
    client = await verificationClient(server.url);
  });
  afterAll(async () => {
    proxy?.restore();
    await server?.stop();
    await proxy?.close();
  });

  const enrol = (consumer: string) => client.initiateVerification({ method: VerificationMethod.TOTP, consumer });

  it("answers unavailable while it is away, keeps health SERVING, and serves again once it is back", async () => {
    expect((await enrol("before-outage")).totpUri).toMatch(/^otpauth:\/\//);

    proxy.cut();
    // A TOTP enrolment writes its secret to Postgres: without Postgres it cannot be promised.
    const started = Date.now();
    expect(await failure(enrol("during-outage"))).toMatchObject({ code: Code.Unavailable });
    // Within the pool's acquire timeout (5 s), not a hang.
    expect(Date.now() - started).toBeLessThan(8_000);
    const health = await fetch(`${server.url}/grpc.health.v1.Health/Check`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ service: "onetime.v1.VerificationService" }),
    });
    expect(await health.json()).toEqual({ status: "SERVING" });
    // Email codes live in Redis: they go on working.
    expect((await client.initiateVerification({ method: VerificationMethod.EMAIL, consumer: "outage@example.com" })).verification).toBeDefined();

    proxy.restore();
    let enrolled: Awaited<ReturnType<typeof enrol>> | undefined;
    for (let attempt = 0; enrolled === undefined; attempt++) {
      enrolled = await enrol("after-outage").catch((error: unknown) => {
        if (attempt >= 20) throw error;
        return undefined;
      });
      if (enrolled === undefined) await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expect(enrolled.totpUri).toMatch(/^otpauth:\/\//);
    // What the driver said about the lost connections is in the JSON log, not on the console.
    expect(captured.records.some((record) => String(record.msg).startsWith("knex") && /connection/i.test(String(record.detail)))).toBe(true);
    // Which store went, once (every call and poll failed meanwhile), and once that it is back.
    const node = `127.0.0.1:${proxy.port}`;
    const states = captured.records.filter((record) => record.msg === "store connection lost" || record.msg === "store connection back");
    expect(states).toMatchObject([
      { level: "warn", msg: "store connection lost", store: "postgres", node },
      { level: "info", msg: "store connection back", store: "postgres", node },
    ]);
  }, 30_000);
});
