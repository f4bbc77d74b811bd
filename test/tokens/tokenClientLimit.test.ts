import { randomUUID } from "node:crypto";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TokenOperation, UserKeyType } from "../../gen/onetime/v1/token_service_pb.js";
import { accountTokenClient, publicCaller } from "../support/accountTokenClient.js";
import { backends } from "../support/server.js";
import { failure } from "../support/verificationClient.js";
import { createProfile, freshEmail, freshPhone, startTokenServer, tokenClient, type Caller, type TokenClient, type TokenServer } from "./tokenTestSupport.js";

const limit = 4;

/**
 * Per-destination send limits let one caller have us message many destinations; the per-address
 * limit caps what one client address gets sent, whatever it names, known or not.
 */
describe.each(backends)("TokenService limits OTT requests per client address, and per user (%s backends)", (backend) => {
  let server: TokenServer;
  let addressCounter = 0;
  /** A client at an address no other test used, as `caller`, behind the trusted loopback proxy. */
  const fromNewAddress = (caller: Caller) => from(`203.0.113.${++addressCounter}`, caller);
  const from = (address: string, caller: Caller) => tokenClient(server.url, caller, "grpc", { "x-forwarded-for": address });
  const emailKey = (value: string) => ({ key: { case: "email" as const, value } });

  beforeAll(async () => {
    server = await startTokenServer(backend, "token_client_limit", {
      TOKEN_PUBLIC_REQUESTS: "true",
      TOKEN_CLIENT_LIMIT: String(limit),
      TOKEN_CLIENT_WINDOW_SECONDS: "600",
      // The test calls from loopback, as the proxy that appends the X-Forwarded-For it sends.
      TRUSTED_PROXIES: "127.0.0.1",
      // Just above TokenService's, so that shared counters would show in "is TokenService's own limit".
      ACCOUNT_TOKEN_CLIENT_LIMIT: String(limit + 2),
    });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("one address gets OTTs sent to at most TOKEN_CLIENT_LIMIT destinations; then CLIENT_LIMIT_REACHED with retry_after_seconds, and nothing sent", async () => {
    const address = "198.51.100.7";
    const anonymous = await from(address, { kind: "public" });
    const first = { email: freshEmail("pump"), processingId: randomUUID() };
    await anonymous.requestRegistrationToken({ processingId: first.processingId, key: emailKey(first.email) });
    for (let i = 1; i < limit; i++) await anonymous.requestRegistrationToken({ processingId: randomUUID(), key: emailKey(freshEmail("pump")) });

    const refusedTo = freshEmail("refused");
    const refusal = await failure(anonymous.requestRegistrationToken({ processingId: randomUUID(), key: emailKey(refusedTo) }));
    expect(refusal).toMatchObject({ code: Code.ResourceExhausted, reason: "CLIENT_LIMIT_REACHED" });
    expect(Number(refusal.metadata.retry_after_seconds)).toBeGreaterThan(0);
    expect(Number(refusal.metadata.retry_after_seconds)).toBeLessThanOrEqual(600);
    // One limit for every operation, not one per operation.
    expect(await failure(anonymous.requestPasswordRecoveryToken({ processingId: randomUUID(), key: emailKey(refusedTo) }))).toMatchObject({
      code: Code.ResourceExhausted,
      reason: "CLIENT_LIMIT_REACHED",
    });

    // Consuming sends nothing and is not limited: the caller who got a code can still use it.
    const consumed = await anonymous.consumeToken({ operation: TokenOperation.REGISTRATION, token: await server.codeSentTo(first.email), processingId: first.processingId });
    expect(consumed.verifiedKey?.key).toEqual({ case: "email", value: first.email });
    // Another address has its own window, and a service is not limited by address at all.
    await (await fromNewAddress({ kind: "public" })).requestRegistrationToken({ processingId: randomUUID(), key: emailKey(freshEmail("neighbour")) });
    await (await from(address, { kind: "service" })).requestRegistrationToken({ processingId: randomUUID(), key: emailKey(refusedTo) });
    // That the refused requests sent nothing is a fact on the domain harness
    // (test/domain/profileTokens/tokenClientLimit.test.ts); here, the service's request goes out.
    expect(await server.codeSentTo(refusedTo)).toMatch(/^\d{6}$/);
  });

  it("counts different X-Forwarded-For values apart when the loopback peer is a trusted proxy: 30 clients, one request each, none refused", async () => {
    const answers = [];
    for (let client = 0; client < 30; client++) {
      answers.push(await (await fromNewAddress({ kind: "public" })).requestRegistrationToken({ processingId: randomUUID(), key: emailKey(freshEmail("apart")) }));
    }
    expect(answers.map((answer) => answer.token?.destinationType)).toEqual(Array(30).fill(UserKeyType.EMAIL));
  });

  it("counts IPv6 clients per /64: two addresses in one /64 share one limit, another /64 has its own", async () => {
    const first = await from("2001:db8:1:1::1", { kind: "public" });
    const sameNetwork = await from("2001:db8:1:1:ffff:ffff:ffff:2", { kind: "public" });
    const register = (client: TokenClient) => client.requestRegistrationToken({ processingId: randomUUID(), key: emailKey(freshEmail("v6")) });
    for (let i = 0; i < limit / 2; i++) {
      await register(first);
      await register(sameNetwork);
    }
    expect(await failure(register(sameNetwork))).toMatchObject({ code: Code.ResourceExhausted, reason: "CLIENT_LIMIT_REACHED" });
    expect(await failure(register(first))).toMatchObject({ code: Code.ResourceExhausted, reason: "CLIENT_LIMIT_REACHED" });
    expect((await register(await from("2001:db8:1:2::1", { kind: "public" }))).token?.destinationType).toBe(UserKeyType.EMAIL);
  });

  it("charges the same whether the address asked for is known or not: requests for unknown and taken addresses use up the limit alike", async () => {
    const service = await tokenClient(server.url, { kind: "service" });
    const known: string[] = [];
    for (let i = 0; i < limit + 1; i++) {
      const email = freshEmail("known");
      await createProfile(service, "limit", { email });
      known.push(email);
    }
    const forKnown = await fromNewAddress({ kind: "public" });
    const forUnknown = await fromNewAddress({ kind: "public" });
    const forTaken = await fromNewAddress({ kind: "public" });
    const recover = (client: typeof forKnown, email: string) => client.requestPasswordRecoveryToken({ processingId: randomUUID(), key: emailKey(email) });
    for (let i = 0; i < limit; i++) {
      await recover(forKnown, known[i]!);
      await recover(forUnknown, freshEmail("unknown"));
      await forTaken.requestRegistrationToken({ processingId: randomUUID(), key: emailKey(known[i]!) });
    }
    const refusals = [
      await failure(recover(forKnown, known[limit]!)),
      await failure(recover(forUnknown, freshEmail("unknown"))),
      await failure(forTaken.requestRegistrationToken({ processingId: randomUUID(), key: emailKey(known[limit]!) })),
    ];
    for (const refusal of refusals) {
      expect(refusal).toMatchObject({ code: Code.ResourceExhausted, reason: "CLIENT_LIMIT_REACHED" });
      expect(Object.keys(refusal.metadata).sort()).toEqual(Object.keys(refusals[0]!.metadata).sort());
    }
  });

  it("counts a user by its id, wherever it calls from: it cannot have OTTs sent to new keys without end", async () => {
    const service = await tokenClient(server.url, { kind: "service" });
    const userId = await createProfile(service, "limit-user", { phone: "+14155550142" });
    // Each request replaces the last unconsumed one: until one is consumed, any new email may be named.
    for (let i = 0; i < limit; i++) await (await fromNewAddress({ kind: "user", userId })).requestKeyAdditionToken({ newKey: emailKey(freshEmail("added")) });
    expect(await failure((await fromNewAddress({ kind: "user", userId })).requestKeyAdditionToken({ newKey: emailKey(freshEmail("added")) }))).toMatchObject({
      code: Code.ResourceExhausted,
      reason: "CLIENT_LIMIT_REACHED",
    });
  });

  it("does not count users behind one address (a NAT, a proxy) against each other", async () => {
    const service = await tokenClient(server.url, { kind: "service" });
    const address = `203.0.113.${++addressCounter}`;
    const answers = [];
    for (let user = 0; user < limit + 2; user++) {
      const userId = await createProfile(service, "limit-shared", { phone: freshPhone() });
      answers.push(await (await from(address, { kind: "user", userId })).requestKeyAdditionToken({ newKey: emailKey(freshEmail("shared")) }));
    }
    expect(answers.every((answer) => answer.token?.destinationType === UserKeyType.EMAIL)).toBe(true);
    // Nor a user's calls against the public callers at that address.
    const publicAnswer = await (await from(address, { kind: "public" })).requestRegistrationToken({ processingId: randomUUID(), key: emailKey(freshEmail("shared-public")) });
    expect(publicAnswer.token?.destinationType).toBe(UserKeyType.EMAIL);
  });

  it("is TokenService's own limit: AccountTokenService calls from the same address do not use it up, nor it theirs", async () => {
    const address = `203.0.113.${++addressCounter}`;
    const accounts = await accountTokenClient(server.url, publicCaller, "grpc", { "x-forwarded-for": address });
    for (let i = 0; i < limit + 1; i++) await accounts.createAuthToken({});
    const anonymous = await from(address, { kind: "public" });
    for (let i = 0; i < limit; i++) await anonymous.requestRegistrationToken({ processingId: randomUUID(), key: emailKey(freshEmail("own")) });
    expect(await failure(anonymous.requestRegistrationToken({ processingId: randomUUID(), key: emailKey(freshEmail("own")) }))).toMatchObject({
      reason: "CLIENT_LIMIT_REACHED",
    });
    await accounts.createAuthToken({});
  });
});

/**
 * The invariant behind the limit: a caller that reaches the port directly cannot name itself
 * anew on each call by writing an X-Forwarded-For of its choosing.
 */
describe.each(backends)("TokenService counts an untrusted peer by its own address, whatever X-Forwarded-For it sends (%s backends)", (backend) => {
  let server: TokenServer;
  const forgedLimit = 20;

  beforeAll(async () => {
    // TRUSTED_PROXIES unset: no peer is a proxy, the loopback test client included.
    server = await startTokenServer(backend, "token_forged_forwarded_for", {
      TOKEN_PUBLIC_REQUESTS: "true",
      TOKEN_CLIENT_LIMIT: String(forgedLimit),
      TOKEN_CLIENT_WINDOW_SECONDS: "600",
    });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("30 requests, each with a different X-Forwarded-For, all count against the one loopback peer: TOKEN_CLIENT_LIMIT pass, the rest get CLIENT_LIMIT_REACHED", async () => {
    expect(server.config.clientAddress.trustedProxies).toEqual([]);
    const anonymous = { grpc: await tokenClient(server.url, { kind: "public" }, "grpc"), "connect-json": await tokenClient(server.url, { kind: "public" }, "connect-json") };
    const outcomes: string[] = [];
    for (let index = 0; index < 30; index++) {
      // Every protocol, and every way a forged header might be written.
      const forged = [`198.51.100.${index}`, `198.51.100.${index}, 203.0.113.${index}`, `[2001:db8::${index}]:443`][index % 3]!;
      const client = anonymous[index % 2 === 0 ? "grpc" : "connect-json"];
      const call = client.requestRegistrationToken({ processingId: randomUUID(), key: { key: { case: "email", value: freshEmail("forged") } } }, { headers: { "x-forwarded-for": forged } });
      outcomes.push(await call.then(() => "sent", async () => (await failure(call)).reason ?? "refused otherwise"));
    }
    expect(outcomes).toEqual([...Array<string>(forgedLimit).fill("sent"), ...Array<string>(30 - forgedLimit).fill("CLIENT_LIMIT_REACHED")]);
    // The count is the peer's: without any header it is refused as well.
    expect(await failure(anonymous.grpc.requestRegistrationToken({ processingId: randomUUID(), key: { key: { case: "email", value: freshEmail("forged") } } }))).toMatchObject({
      code: Code.ResourceExhausted,
      reason: "CLIENT_LIMIT_REACHED",
    });
  });
});
