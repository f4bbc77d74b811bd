import { randomUUID } from "node:crypto";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TokenOperation, type IssuedToken } from "../../gen/onetime/v1/token_service_pb.js";
import { backends } from "../support/server.js";
import { failure } from "../support/verificationClient.js";
import { freshEmail, freshUserId, startTokenServer, tokenClient, type TokenClient, type TokenServer } from "./tokenTestSupport.js";

/** The answer's shape without what differs between any two calls (the times). */
const shapeOf = (token: IssuedToken | undefined) => ({
  destination: token?.destination.replace(/^.\*\*\*/, "x***"),
  destinationType: token?.destinationType,
  expiresIn: token?.expiresIn,
  hasExpireTime: token?.expireTime !== undefined,
  hasNextResendTime: token?.nextResendTime !== undefined,
});

/**
 * Where the caller may not know the user: password recovery of an unknown address, registration
 * or addition of an address another profile holds. Same answer, same limits, nothing sent.
 */
describe.each(backends)("TokenService tells no one whether an address is known (%s backends)", (backend) => {
  let server: TokenServer;
  let service: TokenClient;
  let anonymous: TokenClient;

  beforeAll(async () => {
    server = await startTokenServer(backend, "token_enumeration", { TOKEN_RESEND_DELAY_SECONDS: "30", TOKEN_PUBLIC_REQUESTS: "true" });
    service = await tokenClient(server.url, { kind: "service" });
    anonymous = await tokenClient(server.url, { kind: "public" });
  });
  afterAll(async () => {
    await server?.stop();
  });

  async function profileWith(email: string): Promise<string> {
    const userId = freshUserId("enum");
    await service.createSecurityProfile({ userId, email: { value: email, verified: true } });
    return userId;
  }

  const recover = (client: TokenClient, email: string) =>
    client.requestPasswordRecoveryToken({ processingId: randomUUID(), key: { key: { case: "email", value: email } } });

  it("password recovery: an unknown address gets the same answer and the same resend wait, and nothing is sent", async () => {
    const known = freshEmail("known");
    const unknown = freshEmail("unknown");
    await profileWith(known);
    const [forKnown, forUnknown] = [await recover(service, known), await recover(service, unknown)];
    expect(shapeOf(forUnknown.token)).toEqual(shapeOf(forKnown.token));
    expect(await server.codeSentTo(known)).toMatch(/^\d{6}$/);
    // Charged alike: a second request within the wait is refused for both.
    for (const email of [known, unknown]) {
      expect(await failure(recover(service, email))).toMatchObject({ code: Code.ResourceExhausted, reason: "RESEND_TOO_SOON" });
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(server.sentTo(unknown)).toHaveLength(0);
  });

  it("password recovery takes about as long for an unknown address as for a known one", async () => {
    const samples = { known: [] as number[], unknown: [] as number[] };
    for (let i = 0; i < 15; i++) {
      const known = freshEmail("t-known");
      await profileWith(known);
      for (const [kind, email] of [["known", known], ["unknown", freshEmail("t-unknown")]] as const) {
        const started = performance.now();
        await recover(service, email);
        samples[kind].push(performance.now() - started);
      }
    }
    const median = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
    const ratio = median(samples.unknown) / median(samples.known);
    // Loose on a shared machine: the point is the same work (one read, one store step), not a skipped one.
    expect(ratio).toBeGreaterThan(0.5);
    expect(ratio).toBeLessThan(2);
  });

  it("registration and key addition of an address another profile holds: same answer, nothing sent, never consumable", async () => {
    const taken = freshEmail("taken");
    const owner = await profileWith(taken);
    const free = freshEmail("free");
    const processingId = randomUUID();
    const forTaken = await service.requestRegistrationToken({ processingId, key: { key: { case: "email", value: taken } } });
    const forFree = await service.requestRegistrationToken({ processingId: randomUUID(), key: { key: { case: "email", value: free } } });
    expect(shapeOf(forTaken.token)).toEqual(shapeOf(forFree.token));
    await server.codeSentTo(free);

    const other = await tokenClient(server.url, { kind: "user", userId: await profileWith(freshEmail("other")) });
    await expect(other.requestKeyAdditionToken({ newKey: { key: { case: "email", value: taken } } })).rejects.toMatchObject({ code: Code.FailedPrecondition });
    const phoneOnly = freshUserId("phone-only");
    await service.createSecurityProfile({ userId: phoneOnly, phoneNumber: { value: "+14155559911", verified: true } });
    const asPhoneOnly = await tokenClient(server.url, { kind: "user", userId: phoneOnly });
    const added = await asPhoneOnly.requestKeyAdditionToken({ newKey: { key: { case: "email", value: taken } } });
    expect(added.token?.destination).toBe("t***@example.com");

    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(server.sentTo(taken)).toHaveLength(0);
    // No code was ever made for these: every guess is wrong.
    expect(await failure(service.consumeToken({ operation: TokenOperation.REGISTRATION, token: "000000", processingId }))).toMatchObject({ reason: "WRONG_TOKEN" });
    expect((await service.getSecurityProfile({ userId: owner })).profile?.email).toBe(taken);
  });

  it("with TOKEN_PUBLIC_REQUESTS=true, registration works without credentials end to end; user operations stay closed", async () => {
    const email = freshEmail("public");
    const processingId = randomUUID();
    await anonymous.requestRegistrationToken({ processingId, key: { key: { case: "email", value: email } } });
    const consumed = await anonymous.consumeToken({ operation: TokenOperation.REGISTRATION, token: await server.codeSentTo(email), processingId });
    expect(consumed.verifiedKey?.key).toEqual({ case: "email", value: email });
    expect(await failure(anonymous.consumeToken({ operation: TokenOperation.PASSWORD_CHANGE, token: "123456", userId: "u" }))).toMatchObject({
      code: Code.PermissionDenied,
      reason: "OPERATION_NOT_ALLOWED",
    });
    expect(await failure(anonymous.requestPasswordChangeToken({ userId: "u" }))).toMatchObject({ code: Code.Unauthenticated });
  });
});
