import { randomUUID } from "node:crypto";
import { Code, createClient, type Interceptor } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TokenOperation, TokenService, UserKeyType } from "../../gen/onetime/v1/token_service_pb.js";
import { VerificationMethod } from "../../gen/onetime/v1/verification_service_pb.js";
import { backends } from "../support/server.js";
import { failure, outcome, verificationClient } from "../support/verificationClient.js";
import { createProfile, freshEmail, freshUserId, startTokenServer, tokenClient, type TokenClient, type TokenServer } from "../tokens/tokenTestSupport.js";

/**
 * An anonymous attacker who knows a victim's address and has many client addresses (a bot farm
 * behind the load balancer) spends everything it can reach: registration and password recovery
 * requests for the address, and wrong guesses at every OTT it got issued. The codes a backend
 * asks for on the victim's behalf must still work.
 */
describe.each(backends)("a lockout attempt against a known user (%s)", (backend) => {
  let server: TokenServer;
  let service: TokenClient;
  let attacker: TokenClient;
  let addressCounter = 0;

  beforeAll(async () => {
    server = await startTokenServer(backend, "lockout", {
      TOKEN_PUBLIC_REQUESTS: "true",
      // The load balancer on loopback: each call's X-Forwarded-For is a different bot.
      TRUSTED_PROXIES: "127.0.0.1/32,::1/128",
      TOKEN_CLIENT_LIMIT: "20",
    });
    service = await tokenClient(server.url, { kind: "service" });
    // Every call from another address of the farm: the per-address limit never stops it.
    const rotate: Interceptor = (next) => (request) => {
      addressCounter += 1;
      request.header.set("x-forwarded-for", `198.51.${addressCounter >> 8}.${addressCounter & 255}`);
      return next(request);
    };
    attacker = createClient(TokenService, createGrpcTransport({ baseUrl: server.url, interceptors: [rotate] }));
  });

  afterAll(async () => {
    await server?.stop();
  });

  it("1,000 anonymous requests and wrong guesses leave the victim's login code and a backend's verification working", async () => {
    const victim = freshEmail("victim");
    const userId = await createProfile(service, "victim", { email: victim, emailMfa: true });
    const requests = new Map<string, number>();
    const guesses = new Map<string, number>();
    const count = (outcomes: Map<string, number>, outcome: string) => outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
    let calls = 0;
    const issued: Array<{ operation: TokenOperation; processingId: string }> = [];
    while (calls < 1_000) {
      // Requests for the victim's address through both public paths, fifty at once…
      const batch = await Promise.all(
        Array.from({ length: 50 }, async (_, n) => {
          const operation = n % 2 === 0 ? TokenOperation.REGISTRATION : TokenOperation.PASSWORD_RECOVERY;
          const processingId = randomUUID();
          const request = { processingId, key: { key: { case: "email" as const, value: victim } } };
          const call = operation === TokenOperation.REGISTRATION ? attacker.requestRegistrationToken(request) : attacker.requestPasswordRecoveryToken(request);
          return { operation, processingId, answer: await outcome(call) };
        }),
      );
      calls += batch.length;
      for (const { operation, processingId, answer } of batch) {
        count(requests, answer);
        if (answer === "OK") issued.push({ operation, processingId });
      }
      // …and wrong guesses at every OTT it got, until each is locked.
      await Promise.all(
        issued.splice(0).map(async ({ operation, processingId }) => {
          for (let guess = 0; guess < 6; guess++) {
            calls += 1;
            count(guesses, await outcome(attacker.consumeToken({ operation, processingId, token: String(100_000 + guess) })));
          }
        }),
      );
    }
    // The attacker was stopped by the public pool's limits, and never guessed right.
    const refusedRequests = [...requests].filter(([reason]) => reason !== "OK");
    expect(refusedRequests.map(([reason]) => reason).sort()).toEqual(["GUESS_BUDGET_EXHAUSTED"]);
    expect(refusedRequests.reduce((sum, [, n]) => sum + n, 0)).toBeGreaterThan(900);
    expect(guesses.get("WRONG_TOKEN") ?? 0).toBeGreaterThan(0);
    expect(guesses.get("OK")).toBeUndefined();

    // The victim logs in with MFA: the login code goes out and works.
    const processingId = randomUUID();
    const before = server.sentTo(victim).length;
    await service.requestLoginToken({ userId, keyType: UserKeyType.EMAIL, processingId });
    const consumed = await service.consumeToken({ operation: TokenOperation.LOGIN, token: await latestCode(server, victim, before), userId, processingId });
    expect(consumed).toMatchObject({ operation: TokenOperation.LOGIN, userId });

    // A backend verifies the same address: its code goes out and works.
    const verifications = await verificationClient(server.url);
    const sentBefore = server.sentTo(victim).length;
    const { verification } = await verifications.initiateVerification({ method: VerificationMethod.EMAIL, consumer: victim });
    const validated = await verifications.validateVerification({ verificationId: verification!.verificationId, code: await latestCode(server, victim, sentBefore) });
    expect(validated.verification?.verificationId).toBe(verification!.verificationId);
  }, 120_000);

  it("public requests that fill the channel's per-minute cap leave the account pool's sends alone", async () => {
    const capped = await startTokenServer(backend, "capped", { TOKEN_PUBLIC_REQUESTS: "true", TRUSTED_PROXIES: "127.0.0.1/32", EMAIL_PER_MINUTE_LIMIT: "30" });
    try {
      const backendClient = await tokenClient(capped.url, { kind: "service" });
      const victim = freshEmail("capped");
      const userId = await createProfile(backendClient, "capped", { email: victim, emailMfa: true });
      const bots = createClient(TokenService, createGrpcTransport({ baseUrl: capped.url }));
      const answers: string[] = [];
      for (let n = 0; n < 40; n++) {
        const request = { processingId: randomUUID(), key: { key: { case: "email" as const, value: freshEmail(`bot${n}`) } } };
        answers.push(await outcome(bots.requestRegistrationToken(request, { headers: { "x-forwarded-for": `2001:db8:${n}::1` } })));
      }
      expect(answers.filter((answer) => answer === "OK")).toHaveLength(30);
      expect(answers.slice(30)).toEqual(Array(10).fill("TRAFFIC_LIMIT_REACHED"));
      // The public pool's minute is spent; the victim's login and a backend's verification are not.
      await backendClient.requestLoginToken({ userId, keyType: UserKeyType.EMAIL, processingId: randomUUID() });
      const verifications = await verificationClient(capped.url);
      await verifications.initiateVerification({ method: VerificationMethod.EMAIL, consumer: victim });
    } finally {
      await capped.stop();
    }
  });

  it("a run of wrong public guesses stops new public OTTs to that address, and only those", async () => {
    const target = freshEmail("streak");
    const userId = freshUserId("streak");
    const streak = await startTokenServer(backend, "streak", {
      TOKEN_PUBLIC_REQUESTS: "true",
      TOKEN_MAX_ATTEMPTS: "5",
      PUBLIC_GUESS_STREAK_LIMIT: "7",
      TOKEN_SEND_LIMIT: "100",
    });
    try {
      const anonymous = await tokenClient(streak.url, { kind: "public" });
      const backendClient = await tokenClient(streak.url, { kind: "service" });
      await backendClient.createSecurityProfile({ userId, email: { value: target, verified: true, mfaEnabled: true } });
      const wrongGuesses = async () => {
        const processingId = randomUUID();
        await anonymous.requestPasswordRecoveryToken({ processingId, key: { key: { case: "email", value: target } } });
        const answers: string[] = [];
        for (let guess = 0; guess < 5; guess++) {
          answers.push(await outcome(anonymous.consumeToken({ operation: TokenOperation.PASSWORD_RECOVERY, processingId, token: String(200_000 + guess) })));
        }
        return answers;
      };
      expect(await wrongGuesses()).toEqual(Array(5).fill("WRONG_TOKEN"));
      // Two failures short of the ceiling, the next OTT allows only those two.
      expect(await wrongGuesses()).toEqual(["WRONG_TOKEN", "WRONG_TOKEN", "TOKEN_LOCKED", "TOKEN_LOCKED", "TOKEN_LOCKED"]);
      // Seven wrong in a row, the ceiling: no more public OTTs to the address…
      const refused = await failure(anonymous.requestPasswordRecoveryToken({ processingId: randomUUID(), key: { key: { case: "email", value: target } } }));
      expect(refused).toMatchObject({ code: Code.ResourceExhausted, reason: "TOO_MANY_FAILED_GUESSES" });
      expect(Number(refused.metadata["retry_after_seconds"])).toBeGreaterThan(600_000);
      // …while its login codes still go.
      await backendClient.requestLoginToken({ userId, keyType: UserKeyType.EMAIL, processingId: randomUUID() });
    } finally {
      await streak.stop();
    }
  });
});

/** The code in the first message to `to` after the `before` it had, waiting for it. */
async function latestCode(server: TokenServer, to: string, before: number): Promise<string> {
  await expect.poll(() => server.sentTo(to).length, { timeout: 15_000, message: `a new message to ${to}` }).toBeGreaterThan(before);
  const code = /\b(\d{6})\b/.exec(server.sentTo(to)[before]!.text)?.[1];
  if (code === undefined) throw new Error(`no code in the message to ${to}`);
  return code;
}
