import { Code, ConnectError } from "@connectrpc/connect";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { VerificationMethod } from "../../gen/onetime/v1/verification_service_pb.js";
import { dropSchema, uniqueSchema } from "../support/postgres.js";
import { connectTestCluster, deleteKeysWithPrefix, uniqueTestPrefix } from "../support/redis.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { startSmsWebhook, type SmsWebhook } from "../support/smsWebhook.js";
import { failure, verificationClient, type VerificationClient } from "../support/verificationClient.js";

/**
 * Two onetime instances on one Postgres and one Redis Cluster, as behind a load balancer: what one
 * admits, the other counts; a code is accepted once whichever instance is asked; each message goes
 * out once with both relays running, also when one instance is stopped mid-traffic.
 */
describe("two instances on one Postgres and one Redis Cluster", () => {
  const schema = uniqueSchema("instances");
  const keyPrefix = uniqueTestPrefix("instances");
  let sms: SmsWebhook;
  let first: TestServer;
  let second: TestServer;
  let clients: [VerificationClient, VerificationClient];
  let numbers = 0;
  const phone = () => `+44207946${String(1000 + numbers++).slice(-4)}`;

  beforeAll(async () => {
    sms = await startSmsWebhook();
    const shared = {
      DATABASE_SCHEMA: schema,
      REDIS_KEY_PREFIX: keyPrefix,
      ...sms.env,
      OUTBOX_POLL_INTERVAL_MS: "50",
      VERIFICATION_SEND_LIMIT: "3",
      VERIFICATION_RESEND_DELAY_SECONDS: "0",
      VERIFICATION_GUESS_LIMIT: "12",
    };
    first = await startTestServer("cluster", "instance-a", shared);
    second = await startTestServer("cluster", "instance-b", shared);
    clients = [await verificationClient(first.url, "connect-json"), await verificationClient(second.url, "grpc")];
  }, 60_000);

  afterAll(async () => {
    await first?.stop();
    await second?.stop();
    await sms?.close();
    await dropSchema(schema);
    const admin = await connectTestCluster();
    await deleteKeysWithPrefix(admin, keyPrefix);
    admin.disconnect();
  });

  it("counts one consumer's sends and guesses across both instances", async () => {
    const consumer = phone();
    const start = (client: VerificationClient) => client.initiateVerification({ method: VerificationMethod.PHONE, consumer, policy: { maxAttempts: 5 } });
    const a = await start(clients[0]);
    const b = await start(clients[1]);
    // 12 guesses in the window: 5 and 5 reserved by the first two, so the third gets 2.
    const c = await start(clients[0]);
    expect([a, b, c].map((each) => each.verification?.maxAttempts)).toEqual([5, 5, 2]);
    expect(await failure(start(clients[1]))).toMatchObject({ code: Code.ResourceExhausted });
  });

  it("accepts a code once of 100 concurrent checks spread over both", async () => {
    const { verification } = await clients[0].initiateVerification({
      method: VerificationMethod.PHONE,
      consumer: phone(),
      policy: { forcedCode: "424242", maxAttempts: 5 },
    });
    const checks = Array.from({ length: 100 }, (_, i) =>
      clients[i % 2]!.validateVerification({ verificationId: verification!.verificationId, code: "424242" }).then(
        () => "accepted",
        (error: unknown) => ConnectError.from(error).code,
      ),
    );
    const outcomes = await Promise.all(checks);
    expect(outcomes.filter((outcome) => outcome === "accepted")).toHaveLength(1);
    expect(new Set(outcomes.filter((outcome) => outcome !== "accepted"))).toEqual(new Set([Code.NotFound]));
  });

  it("sends each queued message once with both relays running, also when one instance stops mid-traffic", async () => {
    const sent = sms.received.length;
    const started: string[] = [];
    let retried = 0;
    const refusals = new Set<Code>();
    const traffic = Array.from({ length: 60 }, async (_, i) => {
      await sleep(i * 15);
      const consumer = phone();
      const request = { method: VerificationMethod.PHONE, consumer };
      try {
        await clients[i % 2]!.initiateVerification(request);
      } catch (error) {
        // The stopping instance refuses new calls with `unavailable`: a retry to the other serves it.
        // Refused (`unavailable`), or a keep-alive connection the stopping server closed as this
        // call went out on it: either way a retry to the other instance serves it.
        refusals.add(ConnectError.from(error).code);
        retried++;
        await clients[1].initiateVerification(request);
      }
      started.push(consumer);
    });
    // Real time: the instance is stopped with traffic under way, which is what the test is about.
    await sleep(300);
    await first.stop();
    await Promise.all(traffic);

    await expect.poll(() => sms.received.length - sent, { timeout: 10_000 }).toBe(started.length);
    // Past the relays' next rounds, nothing more arrives: no message went out twice. Real time:
    // a second send would come from a relay's own timer, and there is nothing to await for "none".
    await sleep(1_000);
    const recipients = sms.received.slice(sent).map((message) => message.to);
    expect(recipients.sort()).toEqual([...started].sort());
    expect(started).toHaveLength(60);
    expect(retried).toBeLessThan(60);
    expect([...refusals].filter((code) => code !== Code.Unavailable && code !== Code.Aborted)).toEqual([]);
  }, 30_000);
});
