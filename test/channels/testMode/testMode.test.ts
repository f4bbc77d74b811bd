import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { Code, createClient, type Client } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TestInboxService, TestOutcome, type TestMessage } from "../../../gen/onetime/v1/test_inbox_service_pb.js";
import { VerificationMethod } from "../../../gen/onetime/v1/verification_service_pb.js";
import { startSmtpServer, type TestSmtpServer } from "../email/smtpTestServer.js";
import { scrapeMetrics } from "../../support/metricsText.js";
import { dropSchema, uniqueSchema } from "../../support/postgres.js";
import { connectTestRedis, deleteKeysWithPrefix, uniqueTestPrefix } from "../../support/redis.js";
import { backends, startTestServer, type TestServer } from "../../support/server.js";
import { startSmsWebhook, type SmsWebhook } from "../../support/smsWebhook.js";
import { signToken } from "../../support/tokens.js";
import { accountTokenClient } from "../../support/accountTokenClient.js";
import { bearerTransport, failure, verificationClient, type VerificationClient } from "../../support/verificationClient.js";

type InboxClient = Client<typeof TestInboxService>;

async function inboxClient(url: string, roles: string[]): Promise<InboxClient> {
  return createClient(TestInboxService, bearerTransport(url, "connect-json", await signToken({ subject: "ci", roles })));
}

/** The services reflection lists, as `buf curl --list-services` prints them. */
async function listedServices(url: string): Promise<string[]> {
  const { stdout } = await promisify(execFile)("node_modules/.bin/buf", ["curl", "--list-services", "--http2-prior-knowledge", url]);
  return stdout.trim().split("\n");
}

const codeIn = (message: TestMessage | undefined) => /\b(\d{6})\b/.exec(message?.text ?? "")?.[1];

describe.each(backends)("test mode (%s)", (backend) => {
  let smtp: TestSmtpServer;
  let sms: SmsWebhook;
  let server: TestServer;
  let verifications: VerificationClient;
  let inbox: InboxClient;

  beforeAll(async () => {
    smtp = await startSmtpServer({ credentials: { user: "relay", pass: "pw" } });
    sms = await startSmsWebhook();
    server = await startTestServer(backend, "test-mode", {
      TEST_MODE: "true",
      SMTP_URL: `smtp://relay:pw@127.0.0.1:${smtp.port}`,
      SMTP_FROM: "Acme <no-reply@acme.example>",
      ...sms.env,
      OUTBOX_POLL_INTERVAL_MS: "50",
      OUTBOX_MAX_ATTEMPTS: "3",
      DELIVERY_TIMEOUT_MS: "200",
    });
    verifications = await verificationClient(server.url, "connect-json");
    inbox = await inboxClient(server.url, ["admin"]);
  });
  afterAll(async () => {
    await server?.stop();
    await smtp?.close();
    await sms?.close();
  });

  const messagesTo = async (destination: string) => (await inbox.listTestMessages({ destination })).messages;

  it("keeps a test address's code in the inbox, where an admin reads it; the provider never sees it", async () => {
    const { verification } = await verifications.initiateVerification({ method: VerificationMethod.EMAIL, consumer: "someone@test.example" });
    await expect.poll(async () => (await messagesTo("someone@test.example")).length, { timeout: 5_000 }).toBe(1);
    const [message] = await messagesTo("Someone@Test.Example");
    expect(message).toMatchObject({ kind: "email", destination: "someone@test.example", outcome: TestOutcome.DELIVERED, attempt: 1 });
    expect(message?.subject).not.toBe("");
    expect(message?.createTime).toBeDefined();
    await verifications.validateVerification({ verificationId: verification!.verificationId, code: codeIn(message)! });
    expect(smtp.received.filter((mail) => mail.rcptTo.includes("someone@test.example"))).toEqual([]);
    expect(await scrapeMetrics(server.metricsUrl)).toMatch(/onetime_delivery_attempts_total\{kind="email",provider="test-inbox",outcome="accepted"\} [1-9]/);
  });

  it("sends a real address through the provider, and keeps nothing of it", async () => {
    await verifications.initiateVerification({ method: VerificationMethod.EMAIL, consumer: "ada@example.com" });
    await expect.poll(() => smtp.received.filter((mail) => mail.rcptTo.includes("ada@example.com")).length, { timeout: 5_000 }).toBe(1);
    expect(await messagesTo("ada@example.com")).toEqual([]);
  });

  it("keeps a test number's SMS and texts a real one", async () => {
    await verifications.initiateVerification({ method: VerificationMethod.PHONE, consumer: "+14155550123" });
    await verifications.initiateVerification({ method: VerificationMethod.PHONE, consumer: "+442079460958" });
    await expect.poll(async () => (await messagesTo("+14155550123")).length, { timeout: 5_000 }).toBe(1);
    await expect.poll(() => sms.received.map((message) => message.to), { timeout: 5_000 }).toEqual(["+442079460958"]);
    expect((await messagesTo("+14155550123"))[0]).toMatchObject({ kind: "sms", subject: "", outcome: TestOutcome.DELIVERED });
  });

  it("lists newest first, every destination when none is named, at most page_size", async () => {
    await verifications.initiateVerification({ method: VerificationMethod.EMAIL, consumer: "order-1@test.example" });
    await expect.poll(async () => (await messagesTo("order-1@test.example")).length, { timeout: 5_000 }).toBe(1);
    await verifications.initiateVerification({ method: VerificationMethod.EMAIL, consumer: "order-2@test.example" });
    await expect.poll(async () => (await messagesTo("order-2@test.example")).length, { timeout: 5_000 }).toBe(1);
    const { messages } = await inbox.listTestMessages({ pageSize: 2 });
    expect(messages.map((message) => message.destination)).toEqual(["order-2@test.example", "order-1@test.example"]);
  });

  it("fail+: refused for good at the first attempt, never retried", async () => {
    await verifications.initiateVerification({ method: VerificationMethod.EMAIL, consumer: "fail+signup@test.example" });
    await expect.poll(async () => (await messagesTo("fail+signup@test.example")).length, { timeout: 5_000 }).toBe(1);
    expect((await messagesTo("fail+signup@test.example"))[0]).toMatchObject({ outcome: TestOutcome.FAILED_PERMANENTLY, attempt: 1 });
    expect(await scrapeMetrics(server.metricsUrl)).toMatch(/onetime_delivery_attempts_total\{kind="email",provider="test-inbox",outcome="rejected"\} 1/);
    // Retries would come within a second or two (OUTBOX_POLL_INTERVAL_MS=50): none does.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(await messagesTo("fail+signup@test.example")).toHaveLength(1);
  });

  it("retry1+: fails once, is delivered at the second attempt, and its code works", async () => {
    const { verification } = await verifications.initiateVerification({ method: VerificationMethod.EMAIL, consumer: "retry1+signup@test.example" });
    await expect.poll(async () => (await messagesTo("retry1+signup@test.example")).length, { timeout: 10_000 }).toBe(2);
    const [second, first] = await messagesTo("retry1+signup@test.example");
    expect(first).toMatchObject({ outcome: TestOutcome.FAILED_TEMPORARILY, attempt: 1 });
    expect(second).toMatchObject({ outcome: TestOutcome.DELIVERED, attempt: 2 });
    expect(codeIn(second)).toBe(codeIn(first));
    await verifications.validateVerification({ verificationId: verification!.verificationId, code: codeIn(second)! });
  });

  it("timeout+: no answer until DELIVERY_TIMEOUT_MS, each attempt, until the message is given up", async () => {
    await verifications.initiateVerification({ method: VerificationMethod.EMAIL, consumer: "timeout+signup@test.example" });
    await expect.poll(async () => (await messagesTo("timeout+signup@test.example")).length, { timeout: 20_000 }).toBe(3);
    const attempts = await messagesTo("timeout+signup@test.example");
    expect(attempts.map((message) => [message.outcome, message.attempt])).toEqual([
      [TestOutcome.TIMED_OUT, 3],
      [TestOutcome.TIMED_OUT, 2],
      [TestOutcome.TIMED_OUT, 1],
    ]);
    expect(await scrapeMetrics(server.metricsUrl)).toMatch(/onetime_delivery_attempts_total\{kind="email",provider="test-inbox",outcome="failed"\} [3-9]/);
  });

  it("keeps a push to a test device token, the token in its data", async () => {
    await (await accountTokenClient(server.url)).sendAccountCreationTokenByPush({ device: { pnProvider: "fcm", pnPrid: "test-device-signup" } });
    const [push] = await messagesTo("test-device-signup");
    expect(push).toMatchObject({ kind: "push", destination: "test-device-signup", outcome: TestOutcome.DELIVERED });
    expect(push?.data.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it("is listed by reflection", async () => {
    expect(await listedServices(server.url)).toContain("onetime.v1.TestInboxService");
  });

  it("is for admins only", async () => {
    for (const roles of [["service"], []]) {
      expect(await failure((await inboxClient(server.url, roles)).listTestMessages({}))).toMatchObject({ code: Code.PermissionDenied });
    }
  });
});

describe("test mode beside DISABLED_CHANNELS (real stores)", () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer("real", "test-mode-disabled", { TEST_MODE: "true", DISABLED_CHANNELS: "sms" });
  });
  afterAll(async () => server?.stop());

  it("keeps test numbers' SMS with no provider, and still refuses real numbers", async () => {
    const client = await verificationClient(server.url, "connect-json");
    await client.initiateVerification({ method: VerificationMethod.PHONE, consumer: "+14155550142" });
    const inbox = await inboxClient(server.url, ["admin"]);
    await expect.poll(async () => (await inbox.listTestMessages({ destination: "+14155550142" })).messages.length, { timeout: 5_000 }).toBe(1);
    expect(await failure(client.initiateVerification({ method: VerificationMethod.PHONE, consumer: "+442079460958" }))).toMatchObject({
      code: Code.FailedPrecondition,
      reason: "CHANNEL_NOT_CONFIGURED",
    });
  });
});

describe("test mode off", () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer("embedded", "test-mode-off");
  });
  afterAll(async () => server?.stop());

  it("answers TestInboxService with UNIMPLEMENTED, saying how to turn it on", async () => {
    const answer = await failure((await inboxClient(server.url, ["admin"])).listTestMessages({}));
    expect(answer).toMatchObject({ code: Code.Unimplemented });
    expect(answer.message).toContain("TEST_MODE=true");
  });

  it("is not listed by reflection", async () => {
    const services = await listedServices(server.url);
    expect(services).toContain("onetime.v1.VerificationService");
    expect(services).not.toContain("onetime.v1.TestInboxService");
  });
});

describe.each(backends)("test destinations' traffic counts apart (%s)", (backend) => {
  let server: TestServer;
  let client: VerificationClient;

  beforeAll(async () => {
    server = await startTestServer(backend, "test-mode-traffic", { TEST_MODE: "true", EMAIL_PER_MINUTE_LIMIT: "1", SMS_PER_MINUTE_LIMIT: "1" });
    client = await verificationClient(server.url, "connect-json");
  });
  afterAll(async () => server?.stop());

  const email = (consumer: string) => client.initiateVerification({ method: VerificationMethod.EMAIL, consumer });
  const phone = (consumer: string) => client.initiateVerification({ method: VerificationMethod.PHONE, consumer });

  it("sends a CI run's many codes past the channel caps, and leaves real destinations judged by them", async () => {
    for (let i = 0; i < 3; i++) {
      await email(`burst-${i}@test.example`);
      await phone(`+1415555010${i}`);
    }
    // The caps are whole for real destinations, and still hold them.
    await email("ada@example.com");
    await phone("+442079460958");
    expect(await failure(email("bob@example.com"))).toMatchObject({ code: Code.ResourceExhausted, reason: "TRAFFIC_LIMIT_REACHED" });
    expect(await failure(phone("+442079460959"))).toMatchObject({ code: Code.ResourceExhausted, reason: "TRAFFIC_LIMIT_REACHED" });
    await email("burst-3@test.example");
  });

  it("keeps the destination policy for test numbers", async () => {
    const strict = await startTestServer(backend, "test-mode-policy", { TEST_MODE: "true", SMS_ALLOWED_COUNTRIES: "GB" });
    try {
      const refused = await failure((await verificationClient(strict.url, "connect-json")).initiateVerification({ method: VerificationMethod.PHONE, consumer: "+14155550100" }));
      expect(refused).toMatchObject({ code: Code.PermissionDenied, reason: "DESTINATION_NOT_ALLOWED" });
    } finally {
      await strict.stop();
    }
  });
});

describe("two instances in test mode on one Postgres and one Redis", () => {
  const schema = uniqueSchema("test-mode-instances");
  const keyPrefix = uniqueTestPrefix("test-mode-instances");
  let first: TestServer;
  let second: TestServer;

  beforeAll(async () => {
    const shared = { TEST_MODE: "true", DATABASE_SCHEMA: schema, REDIS_KEY_PREFIX: keyPrefix, OUTBOX_POLL_INTERVAL_MS: "50" };
    first = await startTestServer("real", "test-mode-a", shared);
    second = await startTestServer("real", "test-mode-b", shared);
  }, 60_000);
  afterAll(async () => {
    await first?.stop();
    await second?.stop();
    await dropSchema(schema);
    const admin = await connectTestRedis();
    await deleteKeysWithPrefix(admin, keyPrefix);
    admin.disconnect();
  });

  it("reads through one instance what was sent through the other", async () => {
    await (await verificationClient(first.url, "connect-json")).initiateVerification({ method: VerificationMethod.EMAIL, consumer: "shared@test.example" });
    const inbox = await inboxClient(second.url, ["admin"]);
    await expect.poll(async () => (await inbox.listTestMessages({ destination: "shared@test.example" })).messages.length, { timeout: 5_000 }).toBe(1);
  });
});
