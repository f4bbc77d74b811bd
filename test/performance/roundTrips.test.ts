import { createHash } from "node:crypto";
import { connect, type Socket } from "node:net";
import { generate } from "otplib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Health } from "../../gen/grpc/health/v1/health_pb.js";
import { VerificationMethod } from "../../gen/onetime/v1/verification_service_pb.js";
import { claimScript, recordScript, tidyScript } from "../../src/storage/redis/secretQueueScripts.js";
import { testRedisUrl } from "../support/redis.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { verificationClient, type VerificationClient } from "../support/verificationClient.js";
import { accountTokenClient, admin, user } from "../support/accountTokenClient.js";
import { AccountTokenKind, AccountTokenState, AuthTokenState } from "../../gen/onetime/v1/account_token_service_pb.js";
import { createClient } from "@connectrpc/connect";
import { randomUUID } from "node:crypto";
import { TokenOperation, UserKeyType } from "../../gen/onetime/v1/token_service_pb.js";
import { tokenClient } from "../tokens/tokenTestSupport.js";
import { createGrpcTransport } from "@connectrpc/connect-node";

// The relays' own statements and scripts run in the background, not on the caller's path.
const relayStatement = /with due as|update "outbox_messages" set|update outbox_messages m\s/i;
const relayScripts = [claimScript, recordScript, tidyScript].map((lua) => createHash("sha1").update(lua).digest("hex"));
// By SHA, or by its keys when it runs as EVAL (another test file may have flushed the script
// cache): the relay touches a shard's queue keys, never a secret, which every call on the path does.
const isRelayScript = (line: string) => relayScripts.some((sha) => line.includes(sha)) || (line.includes("{pending:") && !line.includes(":secret:"));

/**
 * Round trips to Redis and Postgres per RPC, counted on real servers: Redis by MONITOR (only
 * commands on this server's key prefix), Postgres by knex's query events. The budget is asserted
 * exactly, so a change that adds a round trip to a hot path fails here without any timing.
 */
describe("round-trip budget per RPC", () => {
  let server: TestServer;
  let client: VerificationClient;
  let monitor: Socket;
  const redisCommands: string[] = [];
  const sql: string[] = [];
  /** What the console channel printed: the OTTs TokenService sent. */
  const sent: string[] = [];
  /** The code in the latest message to `to`, once it is out. */
  async function codeSentTo(to: string): Promise<string> {
    let code: string | undefined;
    await expect.poll(() => (code = [...sent].reverse().find((text) => text.includes(`to:      ${to}\n`))?.match(/\b(\d{6})\b/)?.[1])).toBeDefined();
    return code!;
  }

  beforeAll(async () => {
    // The abuse controls' defaults, conversion guard included: what a production send and redeem cost.
    server = await startTestServer(
      "real",
      "round_trips",
      { OUTBOX_POLL_INTERVAL_MS: "60000", ACCOUNT_TOKEN_CLIENT_LIMIT: "100000", TOKEN_CLIENT_LIMIT: "100000", SMS_CONVERSION_MIN_RATIO: "0.2", SMS_PREFIX_HOURLY_LIMIT: "20" },
      { consoleOutput: (text) => sent.push(text) },
    );
    client = await verificationClient(server.url);
    const prefix = server.config.shortLivedStore.kind === "redis" ? server.config.shortLivedStore.keyPrefix : "";
    monitor = await monitorRedis((line) => {
      // Commands a script runs inside Redis show up too, as `[0 lua]`: not round trips.
      if (!/^\+\S+ \[\d+ lua\]/.test(line) && line.includes(prefix) && !isRelayScript(line)) redisCommands.push(line);
    });
    server.server.app.stores.db.on("query", (query: { sql: string }) => {
      if (!relayStatement.test(query.sql)) sql.push(query.sql);
    });
  });
  afterAll(async () => {
    monitor?.destroy();
    await server?.stop();
  });

  /** Runs a call and returns the round trips it made. */
  async function count(call: () => Promise<unknown>): Promise<{ redis: number; postgres: number }> {
    await new Promise((resolve) => setTimeout(resolve, 50));
    redisCommands.length = 0;
    sql.length = 0;
    await call();
    // MONITOR lines arrive on their own connection, a moment after the command ran.
    await new Promise((resolve) => setTimeout(resolve, 100));
    if (process.env.DEBUG_ROUND_TRIPS) console.log(redisCommands, sql);
    return { redis: redisCommands.length, postgres: sql.length };
  }

  let consumerNumber = 0;
  const initiate = (extra: { idempotencyKey?: string } = {}) =>
    client.initiateVerification({
      method: VerificationMethod.EMAIL,
      consumer: `rt-${consumerNumber++}@example.com`,
      policy: { forcedCode: "424242" },
      ...extra,
    });

  // Loads the Lua scripts first, so no measured call pays for a NOSCRIPT and a resend of one.
  beforeAll(async () => {
    const { verification } = await initiate({ idempotencyKey: "warm-up" });
    await client.validateVerification({ verificationId: verification!.verificationId, code: "000000" }).catch(() => undefined);
    await client.validateVerification({ verificationId: verification!.verificationId, code: "424242" });
  });

  it("Health/Check: no store at all", async () => {
    const health = createClient(Health, createGrpcTransport({ baseUrl: server.url }));
    expect(await count(() => health.check({}))).toEqual({ redis: 0, postgres: 0 });
  });

  it("ValidateVerification: one Redis round trip, right code or wrong", async () => {
    const { verification } = await initiate();
    const id = verification!.verificationId;
    expect(await count(() => client.validateVerification({ verificationId: id, code: "000000" }).catch(() => undefined))).toEqual({ redis: 1, postgres: 0 });
    expect(await count(() => client.validateVerification({ verificationId: id, code: "424242" }))).toEqual({ redis: 1, postgres: 0 });
  });

  it("InitiateVerification: admission, then the code and its message in one Redis script; no Postgres", async () => {
    expect(await count(() => initiate())).toEqual({ redis: 2, postgres: 0 });
    expect(await count(() => initiate({ idempotencyKey: `k-${consumerNumber}` }))).toEqual({ redis: 3, postgres: 0 });
  });

  it("TOTP: a start for an enrolled consumer reads nothing more than its upsert; a validation reads the secret and claims the step", async () => {
    const consumer = `rt-totp-${consumerNumber++}`;
    const enrolling = await client.initiateVerification({ method: VerificationMethod.TOTP, consumer });
    const secret = new URL(enrolling.totpUri).searchParams.get("secret")!;
    await client.validateVerification({ verificationId: enrolling.verification!.verificationId, code: await generate({ secret }) });

    // Enrolled now: admission and the record in Redis, one upsert that leaves the active secret be.
    let started: { verification?: { verificationId: string } } = {};
    expect(await count(async () => (started = await client.initiateVerification({ method: VerificationMethod.TOTP, consumer })))).toEqual({
      redis: 2,
      postgres: 1,
    });
    // The next time step's code, so the step is not the one just used. One Redis take (counts the
    // attempt), the secret read and the step claimed in Postgres, then the record ended in Redis.
    const next = await generate({ secret, epoch: Math.floor(Date.now() / 1000) + 30 });
    expect(await count(() => client.validateVerification({ verificationId: started.verification!.verificationId, code: next }))).toEqual({
      redis: 2,
      postgres: 2,
    });
  });

  it("GetVerification and InvalidateVerification: one Redis round trip each", async () => {
    const { verification } = await initiate();
    const id = verification!.verificationId;
    expect(await count(() => client.getVerification({ verificationId: id }))).toEqual({ redis: 1, postgres: 0 });
    expect(await count(() => client.invalidateVerification({ verificationId: id }))).toEqual({ redis: 1, postgres: 0 });
  });

  it("TokenService requests: the profile read once, then admission and the OTT with its message in Redis; a user's also its address limit", async () => {
    const service = await tokenClient(server.url, { kind: "service" });
    const userId = `rt-user-${consumerNumber++}`;
    const email = `rt-${consumerNumber++}@example.com`;
    await service.createSecurityProfile({ userId, email: { value: email, verified: true }, phoneNumber: { value: "+14155550177", verified: true } });
    const user = await tokenClient(server.url, { kind: "user", userId });
    // A user is limited by its client address: one Redis script, in a slot of its own, before the rest.
    expect(await count(() => user.requestKeyRemovalToken({ keyType: UserKeyType.PHONE_NUMBER }))).toEqual({ redis: 3, postgres: 1 });
    expect(await count(() => user.requestKeyChangeToken({ keyType: UserKeyType.EMAIL }))).toEqual({ redis: 3, postgres: 1 });
    // Step 2 first redeems step 1's OTT: one more Redis script, still one read.
    const step1Token = await codeSentTo(email);
    const newKey = { key: { case: "email" as const, value: `rt-new-${consumerNumber++}@example.com` } };
    expect(await count(() => user.requestKeyChangeNewKeyToken({ step1Token, newKey }))).toEqual({ redis: 4, postgres: 1 });
    // Password recovery, by a service (not limited by address): the same for an address nobody has as for a known one.
    const recover = (address: string) => service.requestPasswordRecoveryToken({ processingId: randomUUID(), key: { key: { case: "email", value: address } } });
    expect(await count(() => recover(email))).toEqual({ redis: 2, postgres: 1 });
    expect(await count(() => recover(`rt-nobody-${consumerNumber++}@example.com`))).toEqual({ redis: 2, postgres: 1 });
  });

  it("TokenService consume: one Redis script, plus one Postgres statement (change and audit) when the profile changes (a transaction of five with the notices of a factor change), plus one script for a used SMS code's conversion", async () => {
    const service = await tokenClient(server.url, { kind: "service" });
    const userId = `rt-user-${consumerNumber++}`;
    const email = `rt-${consumerNumber++}@example.com`;
    await service.createSecurityProfile({ userId, email: { value: email, verified: true }, phoneNumber: { value: "+14155550178", verified: true } });
    const user = await tokenClient(server.url, { kind: "user", userId });
    await user.requestKeyRemovalToken({ keyType: UserKeyType.PHONE_NUMBER });
    expect(await count(() => user.consumeToken({ operation: TokenOperation.KEY_REMOVAL, token: "000000" }).catch(() => undefined))).toEqual({
      redis: 1,
      postgres: 0,
    });
    const code = await codeSentTo("+14155550178");
    // A factor change is announced in its own transaction: begin, the change (and audit), its
    // report tokens, its notices in the outbox (one statement whatever the number of keys), commit.
    expect(await count(() => user.consumeToken({ operation: TokenOperation.KEY_REMOVAL, token: code }))).toEqual({ redis: 2, postgres: 5 });
    await user.requestPasswordChangeToken({});
    const confirm = await codeSentTo(email);
    expect(await count(() => user.consumeToken({ operation: TokenOperation.PASSWORD_CHANGE, token: confirm }))).toEqual({ redis: 1, postgres: 0 });
  });

  it("TokenService consume of a public-pool OTT: the take, and one script for its run of wrong guesses, wrong or right", async () => {
    const service = await tokenClient(server.url, { kind: "service" });
    const processingId = randomUUID();
    const address = `rt-reg-${consumerNumber++}@example.com`;
    await service.requestRegistrationToken({ processingId, key: { key: { case: "email", value: address } } });
    const consume = (token: string) => service.consumeToken({ operation: TokenOperation.REGISTRATION, processingId, token });
    expect(await count(() => consume("000000").catch(() => undefined))).toEqual({ redis: 2, postgres: 0 });
    const code = await codeSentTo(address);
    expect(await count(() => consume(code))).toEqual({ redis: 2, postgres: 0 });
  });

  // Account tokens: the client address limit is one Redis script; each change of a token, with
  // its audit row, one Postgres statement.
  it("account creation: request token, CAPTCHA, creation token, consume: one Redis and one Postgres round trip each, but two Postgres for the CAPTCHA step", async () => {
    const anyone = await accountTokenClient(server.url);
    const alice = await accountTokenClient(server.url, user("account-rt"));
    let request = "";
    expect(await count(async () => (request = (await anyone.createAccountCreationRequestToken({})).accountCreationRequestToken!.token))).toEqual({ redis: 1, postgres: 1 });
    // The token is looked up before the CAPTCHA provider is asked (a made-up one costs it nothing),
    // and marked validated after: a provider call cannot sit inside one statement.
    expect(await count(() => anyone.validateAccountCreationRequestToken({ accountCreationRequestToken: request, captchaResponse: "dev-captcha-ok" }))).toEqual({ redis: 1, postgres: 2 });
    let creation = "";
    expect(await count(async () => (creation = (await anyone.createAccountCreationTokenFromRequestToken({ accountCreationRequestToken: request })).accountCreationToken!.token))).toEqual({
      redis: 1,
      postgres: 1,
    });
    expect(await count(() => alice.consumeAccountCreationToken({ accountCreationToken: creation }))).toEqual({ redis: 1, postgres: 1 });
    // Refusals cost the same: the statement that would have spent the token says why it did not.
    expect(await count(() => alice.consumeAccountCreationToken({ accountCreationToken: creation }).catch(() => undefined))).toEqual({ redis: 1, postgres: 1 });
  });

  it("a push: the limit, then the token reserved before the push and made usable after it", async () => {
    const anyone = await accountTokenClient(server.url);
    expect(await count(() => anyone.sendAccountCreationTokenByPush({ device: { pnProvider: "fcm", pnPrid: "round-trip-device" } }))).toEqual({ redis: 1, postgres: 2 });
    // Refused (already sent): the reservation alone.
    expect(await count(() => anyone.sendAccountCreationTokenByPush({ device: { pnProvider: "fcm", pnPrid: "round-trip-device" } }).catch(() => undefined))).toEqual({ redis: 1, postgres: 1 });
  });

  it("account recovery: the recovery page spends its token in one Redis and one Postgres round trip, refused or not", async () => {
    const anyone = await accountTokenClient(server.url);
    await anyone.sendAccountRecoveryTokenByPush({ device: { pnProvider: "fcm", pnPrid: "round-trip-recovery" } });
    // The console push channel prints the push's data: the token the device would get.
    const push = sent.findLast((text) => text.includes("device round-trip-recovery") && text.includes('"account_recovery"'));
    const token = (JSON.parse(/^data:\s+(.+)$/m.exec(push ?? "")?.[1] ?? "{}") as { token?: string }).token;
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(await count(() => anyone.consumeAccountRecoveryToken({ accountRecoveryToken: token!, phone: "+3312341234" }))).toEqual({ redis: 1, postgres: 1 });
    expect(await count(() => anyone.consumeAccountRecoveryToken({ accountRecoveryToken: token! }).catch(() => undefined))).toEqual({ redis: 1, postgres: 1 });
  });

  it("admin: create, list and revoke, one Postgres statement each and no Redis; revoking an auth token also PUBLISHes, for its watchers", async () => {
    const operator = await accountTokenClient(server.url, admin);
    expect(await count(() => operator.createAccountCreationToken({}))).toEqual({ redis: 0, postgres: 1 });
    let id = "";
    expect(await count(async () => (id = (await operator.listAccountTokens({ pageSize: 10 })).tokens[0]!.tokenId))).toEqual({ redis: 0, postgres: 1 });
    expect(await count(() => operator.revokeAccountToken({ tokenId: id }))).toEqual({ redis: 0, postgres: 1 });
    await (await accountTokenClient(server.url)).createAuthToken({});
    const [auth] = (await operator.listAccountTokens({ kind: AccountTokenKind.AUTH, state: AccountTokenState.ACTIVE, pageSize: 1 })).tokens;
    expect(await count(() => operator.revokeAccountToken({ tokenId: auth!.tokenId }))).toEqual({ redis: 1, postgres: 1 });
  });

  it("auth token: create, redeem while pending, attach (with its PUBLISH), watch, redeem", async () => {
    const device = await accountTokenClient(server.url);
    const phone = await accountTokenClient(server.url, user("account-rt"));
    let created: Awaited<ReturnType<typeof device.createAuthToken>> | undefined;
    expect(await count(async () => (created = await device.createAuthToken({})))).toEqual({ redis: 1, postgres: 1 });
    const token = created!.authToken!.token;
    const { deviceSecret } = created!;
    expect(await count(() => device.redeemAuthToken({ deviceSecret }))).toEqual({ redis: 1, postgres: 1 });
    expect(await count(() => phone.attachAuthToken({ authToken: token }))).toEqual({ redis: 2, postgres: 1 });
    // Already attached: the limit, one read, and the stream ends.
    expect(
      await count(async () => {
        for await (const message of device.watchAuthToken({ deviceSecret })) expect(message.state).toBe(AuthTokenState.ATTACHED);
      }),
    ).toEqual({ redis: 1, postgres: 1 });
    expect(await count(() => device.redeemAuthToken({ deviceSecret }))).toEqual({ redis: 1, postgres: 1 });
  });

  it("a waiting watch costs nothing while it waits, and nothing when its attach wakes it", async () => {
    const device = await accountTokenClient(server.url);
    const phone = await accountTokenClient(server.url, user("account-rt"));
    const { authToken, deviceSecret } = await device.createAuthToken({});
    const token = authToken!.token;
    const states: AuthTokenState[] = [];
    let watching: Promise<void> = Promise.resolve();
    let pending: () => void;
    const waiting = new Promise<void>((resolve) => (pending = resolve));
    // The start: the limit and one read.
    expect(
      await count(async () => {
        watching = (async () => {
          for await (const message of device.watchAuthToken({ deviceSecret })) {
            states.push(message.state);
            pending();
          }
        })();
        await waiting;
      }),
    ).toEqual({ redis: 1, postgres: 1 });
    // The attach and the wake-up: the attach's own limit, statement and PUBLISH; the watch reads nothing.
    expect(
      await count(async () => {
        await phone.attachAuthToken({ authToken: token });
        await watching;
      }),
    ).toEqual({ redis: 2, postgres: 1 });
    expect(states).toEqual([AuthTokenState.PENDING, AuthTokenState.ATTACHED]);
  });
});

/**
 * MONITOR on a plain socket, one callback per line: ioredis's own monitor() mistakes a monitored
 * command for a reply now and then ("Command queue state error") when other clients are busy.
 */
async function monitorRedis(onLine: (line: string) => void): Promise<Socket> {
  const url = new URL(testRedisUrl());
  const socket = connect(Number(url.port || 6379), url.hostname);
  let buffered = "";
  let started: () => void;
  const ready = new Promise<void>((resolve) => (started = resolve));
  socket.setEncoding("utf8");
  socket.on("data", (chunk: string) => {
    buffered += chunk;
    let end: number;
    while ((end = buffered.indexOf("\r\n")) >= 0) {
      const line = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      if (line === "+OK") started();
      else onLine(line);
    }
  });
  await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject));
  socket.write("MONITOR\r\n");
  await ready;
  return socket;
}
