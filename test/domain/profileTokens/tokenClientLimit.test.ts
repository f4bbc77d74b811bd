import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Actor } from "../../../src/domain/actor.js";
import type { ProfileTokens } from "../../../src/domain/profileTokens/profileTokens.js";
import { profileTokenHarness, type ProfileTokenHarness } from "../../support/profileTokenHarness.js";

const limit = 4;
const windowMs = 600_000;
const service: Actor = { kind: "service", subject: "backend" };

/**
 * TokenService's per-client limit on the domain harness: what a refused request leaves (nothing
 * sent, nothing charged elsewhere) is a fact once the relay ran, and the window moves with the
 * test's clock. The end-to-end suite (test/tokens/tokenClientLimit.test.ts) keeps how a caller is
 * named on the wire (X-Forwarded-For, trusted proxies, IPv6 networks).
 */
describe("TokenService's per-client limit (domain)", () => {
  let h: ProfileTokenHarness;
  let tokens: ProfileTokens;
  let addressCounter = 0;
  beforeAll(async () => {
    h = await profileTokenHarness();
    tokens = await h.tokens({ rules: { publicRequests: true, client: { count: limit, windowMs } } });
  });
  afterAll(async () => {
    await h?.close();
  });

  const freshEmail = (label: string) => `${label}-${randomUUID().slice(0, 8)}@example.com`;
  const publicAt = (address = `203.0.113.${++addressCounter}`): Actor => ({ kind: "public", clientAddress: address, clientNetwork: address });
  const register = (actor: Actor, email = freshEmail("pump"), processingId = randomUUID()) =>
    tokens.request("registration", { processingId, key: { type: "email", value: email } }, actor);
  const sentTo = async (to: string) => {
    await h.deliver();
    return [...h.email.sent, ...h.sms.sent].filter((message) => message.to === to);
  };

  it("one address gets OTTs sent to at most the limit's destinations; then CLIENT_LIMIT_REACHED with the wait, for every operation, and nothing sent", async () => {
    const anonymous = publicAt();
    const first = { email: freshEmail("first"), processingId: randomUUID() };
    await register(anonymous, first.email, first.processingId);
    for (let i = 1; i < limit; i++) await register(anonymous);

    const refusedTo = freshEmail("refused");
    const refused = register(anonymous, refusedTo);
    await expect(refused).rejects.toMatchObject({ kind: "resource_exhausted", reason: "CLIENT_LIMIT_REACHED" });
    const retryAfter = Number(((await refused.catch((error: unknown) => error)) as { metadata: Record<string, string> }).metadata.retry_after_seconds);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(windowMs / 1000);
    // One limit for every operation, not one per operation.
    await expect(tokens.request("password_recovery", { processingId: randomUUID(), key: { type: "email", value: refusedTo } }, anonymous)).rejects.toMatchObject({
      reason: "CLIENT_LIMIT_REACHED",
    });
    expect(await sentTo(refusedTo)).toEqual([]);

    // Consuming sends nothing and is not limited: the caller who got a code can still use it.
    const code = /\b(\d{6})\b/.exec((await sentTo(first.email)).map((message) => ("text" in message ? message.text : "")).join(" "))![1]!;
    const consumed = await tokens.consume({ operation: "registration", token: code, processingId: first.processingId }, anonymous);
    expect(consumed.verifiedKey).toEqual({ type: "email", value: first.email });
    // Another address has its own window, and a service is not limited by address at all.
    await register(publicAt());
    await register(service, refusedTo);
    expect(await sentTo(refusedTo)).toHaveLength(1);
  });

  it("moves with the test's clock: refused until a window has passed since the address's first request, then the whole limit again", async () => {
    const anonymous = publicAt();
    await register(anonymous);
    h.clock.advance(windowMs / 2);
    for (let i = 1; i < limit; i++) await register(anonymous);
    h.clock.advance(windowMs / 2 - 1);
    await expect(register(anonymous)).rejects.toMatchObject({ reason: "CLIENT_LIMIT_REACHED" });
    h.clock.advance(1);
    for (let i = 0; i < limit; i++) await register(anonymous);
    await expect(register(anonymous)).rejects.toMatchObject({ reason: "CLIENT_LIMIT_REACHED" });
  });

  it("counts a user by its id, not its address, and users behind one address apart", async () => {
    const userId = `user-${randomUUID()}`;
    await h.profiles.create({ userId, phone: { value: "+14155550142", verified: true, mfaEnabled: false } }, service);
    for (let i = 0; i < limit; i++) {
      await tokens.request("key_addition", { userId, key: { type: "email", value: freshEmail("added") } }, { ...publicAt(), kind: "user", subject: userId });
    }
    await expect(
      tokens.request("key_addition", { userId, key: { type: "email", value: freshEmail("added") } }, { ...publicAt(), kind: "user", subject: userId }),
    ).rejects.toMatchObject({ reason: "CLIENT_LIMIT_REACHED" });

    const shared = publicAt();
    for (let user = 0; user < limit + 2; user++) {
      const other = `user-${randomUUID()}`;
      await h.profiles.create({ userId: other, phone: { value: `+1415555${String(2000 + user)}`, verified: true, mfaEnabled: false } }, service);
      await tokens.request("key_addition", { userId: other, key: { type: "email", value: freshEmail("shared") } }, { ...shared, kind: "user", subject: other });
    }
    // Nor the users' calls against the public callers at that address.
    await register(shared);
  });
});
