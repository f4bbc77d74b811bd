import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Actor } from "../../../src/domain/actor.js";
import type { PendingSecrets } from "../../../src/domain/secrets/pendingSecrets.js";
import type { IssuedToken, ProfileTokens } from "../../../src/domain/profileTokens/profileTokens.js";
import { profileTokenHarness, type ProfileTokenHarness } from "../../support/profileTokenHarness.js";

const service: Actor = { kind: "service", subject: "backend", requestId: "req-enum" };
const anonymous: Actor = { kind: "public", clientAddress: "198.51.100.9", clientNetwork: "198.51.100.9" };

/**
 * The answer less the letter a masked address keeps. The times stay: the clock stands still
 * between the two calls, so the same lifetime and resend wait show as the same instants.
 */
const shapeOf = (token: IssuedToken) => ({ ...token, destination: token.destination.replace(/^.\*\*\*/, "x***") });

/**
 * Where the caller may not know the user (password recovery of an unknown address, registration
 * or addition of an address another profile holds): the same answer, the same limits charged, the
 * same store work, and nothing sent. On the domain harness, "nothing sent" is a fact once the relay
 * ran, not a wait; the end-to-end suite (test/tokens/tokenEnumeration.test.ts) checks what the wire shows.
 */
describe("TokenService tells no one whether an address is known (domain)", () => {
  let h: ProfileTokenHarness;
  let tokens: ProfileTokens;
  /** Calls to the OTT store, by method, as the secrets core made them. */
  const storeCalls: string[] = [];
  beforeAll(async () => {
    h = await profileTokenHarness({
      wrapPending: (pending) =>
        new Proxy(pending, {
          get(target, name, receiver) {
            const value = Reflect.get(target, name, receiver) as unknown;
            if (typeof value !== "function") return value;
            return (...args: unknown[]) => {
              storeCalls.push(String(name));
              return (value as (...a: unknown[]) => unknown).apply(target, args);
            };
          },
        }) as PendingSecrets,
    });
    tokens = await h.tokens({ rules: { publicRequests: true, sends: { limit: 100, windowMs: 3_600_000, firstResendDelayMs: 30_000, maxResendDelayMs: 30_000 } } });
  });
  afterAll(async () => {
    await h?.close();
  });

  const freshEmail = (label: string) => `${label}-${randomUUID().slice(0, 8)}@example.com`;
  const emailKey = (value: string) => ({ type: "email" as const, value });
  const sentTo = async (to: string) => {
    await h.deliver();
    await h.deliverNotices();
    return [...h.email.sent, ...h.sms.sent].filter((message) => message.to === to);
  };
  async function profileWith(email?: string, phone?: string): Promise<string> {
    const userId = `user-${randomUUID()}`;
    await h.profiles.create(
      {
        userId,
        ...(email === undefined ? {} : { email: { value: email, verified: true, mfaEnabled: false } }),
        ...(phone === undefined ? {} : { phone: { value: phone, verified: true, mfaEnabled: false } }),
      },
      service,
    );
    return userId;
  }
  /** What `call` did to the OTT store. */
  async function work<T>(call: () => Promise<T>): Promise<{ answer: T; calls: string[] }> {
    storeCalls.length = 0;
    const answer = await call();
    return { answer, calls: [...storeCalls] };
  }
  const recover = (email: string, actor: Actor = service) => tokens.request("password_recovery", { processingId: randomUUID(), key: emailKey(email) }, actor);

  it("password recovery: an unknown address gets the same answer after the same store work, is charged the same resend wait, and is sent nothing", async () => {
    const [known, unknown] = [freshEmail("known"), freshEmail("unknown")];
    await profileWith(known);
    for (const actor of [service, anonymous]) {
      const forKnown = await work(() => recover(known, actor));
      const forUnknown = await work(() => recover(unknown, actor));
      expect(shapeOf(forUnknown.answer)).toEqual(shapeOf(forKnown.answer));
      expect(forUnknown.calls).toEqual(forKnown.calls);
      expect(forKnown.calls.length).toBeGreaterThan(0);
      // Charged alike: a second request within the wait is refused for both.
      for (const email of [known, unknown]) await expect(recover(email, actor)).rejects.toMatchObject({ reason: "RESEND_TOO_SOON" });
      h.clock.advance(30_000);
    }
    expect(await sentTo(known)).toHaveLength(2);
    expect(await sentTo(unknown)).toEqual([]);
  });

  it("registration and key addition of an address another profile holds: the same answer, nothing sent, never consumable", async () => {
    const taken = freshEmail("taken");
    const owner = await profileWith(taken);
    const free = freshEmail("free");
    const processingId = randomUUID();
    const forTaken = await work(() => tokens.request("registration", { processingId, key: emailKey(taken) }, anonymous));
    const forFree = await work(() => tokens.request("registration", { processingId: randomUUID(), key: emailKey(free) }, anonymous));
    expect(shapeOf(forTaken.answer)).toEqual(shapeOf(forFree.answer));
    expect(forTaken.calls).toEqual(forFree.calls);

    // A user with an email of its own is told it has one; one without may ask, and hears the usual answer.
    const other = await profileWith(freshEmail("other"));
    await expect(tokens.request("key_addition", { userId: other, key: emailKey(taken) }, { kind: "user", subject: other })).rejects.toMatchObject({ reason: "KEY_ALREADY_PRESENT" });
    const phoneOnly = await profileWith(undefined, "+14155559911");
    const added = await tokens.request("key_addition", { userId: phoneOnly, key: emailKey(taken) }, { kind: "user", subject: phoneOnly });
    expect(added.destination).toBe("t***@example.com");

    expect(await sentTo(free)).toHaveLength(1);
    expect(await sentTo(taken)).toEqual([]);
    // No code was made that any guess matches.
    await expect(tokens.consume({ operation: "registration", token: "000000", processingId }, anonymous)).rejects.toMatchObject({ reason: "WRONG_TOKEN" });
    expect((await h.profiles.lookup({ userId: owner })).profile?.email?.value).toBe(taken);
  });
});
