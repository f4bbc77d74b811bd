import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Actor } from "../../../src/domain/actor.js";
import type { ProfileTokens } from "../../../src/domain/profileTokens/profileTokens.js";
import { profileTokenHarness, type ProfileTokenHarness } from "../../support/profileTokenHarness.js";

const service: Actor = { kind: "service", subject: "backend", requestId: "req-rules" };
const asUser = (userId: string): Actor => ({ kind: "user", subject: userId });

/** What a domain call threw: its reason, field and metadata, as the RPC layer maps them. */
async function refusal(call: Promise<unknown>): Promise<{ reason?: string; kind?: string; fields?: string[]; metadata?: Record<string, string> }> {
  try {
    await call;
  } catch (error) {
    const { reason, kind, metadata, violations } = error as { reason?: string; kind?: string; metadata?: Record<string, string>; violations?: Array<{ field: string }> };
    return { reason, kind, ...(metadata === undefined ? {} : { metadata: { ...metadata } }), ...(violations === undefined ? {} : { fields: violations.map((each) => each.field) }) };
  }
  throw new Error("the call was not refused");
}

/**
 * TokenService's refusals and an OTT's life (expiry, single use, lock), on the domain harness:
 * the clock is the test's, so expiry is a step, not a sleep. The end-to-end suite
 * (test/tokens/tokenRefusals.test.ts) keeps what needs the wire: the answers' codes, callers named
 * by their credentials, concurrent consumptions on the real stores.
 */
describe("TokenService rules (domain)", () => {
  let h: ProfileTokenHarness;
  let tokens: ProfileTokens;
  const passwordChangeTtlMs = 1_000;
  beforeAll(async () => {
    h = await profileTokenHarness();
    tokens = await h.tokens({ rules: { disabled: new Set(["key_recovery"]), ttlMs: { ...h.rules.ttlMs, password_change: passwordChangeTtlMs } } });
  });
  afterAll(async () => {
    await h?.close();
  });

  let counter = 0;
  const freshEmail = (label: string) => `${label}-${randomUUID().slice(0, 8)}@example.com`;
  const freshPhone = () => `+1415555${String(1000 + (counter++ % 9000)).padStart(4, "0")}`;

  async function profileWith(keys: { email?: string; phone?: string; emailMfa?: boolean }): Promise<string> {
    const userId = `user-${randomUUID()}`;
    await h.profiles.create(
      {
        userId,
        ...(keys.email === undefined ? {} : { email: { value: keys.email, verified: true, mfaEnabled: keys.emailMfa ?? false } }),
        ...(keys.phone === undefined ? {} : { phone: { value: keys.phone, verified: true, mfaEnabled: false } }),
      },
      service,
    );
    return userId;
  }

  const sentTo = (to: string) => [...h.email.sent, ...h.sms.sent].filter((message) => message.to === to);

  /** The OTT the last message to `to` carried (the secrets' queue is relayed first). */
  async function codeTo(to: string): Promise<string> {
    await h.deliver();
    const last = sentTo(to).at(-1);
    const code = last !== undefined && "text" in last ? /\b(\d{6})\b/.exec(last.text)?.[1] : undefined;
    if (code === undefined) throw new Error(`no code sent to ${to}`);
    return code;
  }

  it("refuses a key change and a key removal while MFA is on for that key", async () => {
    const userId = await profileWith({ email: freshEmail("mfa-on"), phone: freshPhone(), emailMfa: true });
    expect(await refusal(tokens.request("key_change", { userId, keyType: "email" }, asUser(userId)))).toMatchObject({ kind: "failed_precondition", reason: "MFA_ENABLED" });
    expect(await refusal(tokens.request("key_removal", { userId, keyType: "email" }, asUser(userId)))).toMatchObject({ kind: "failed_precondition", reason: "MFA_ENABLED" });
  });

  it("refuses to disable MFA that is already off, a login OTT for a key without MFA, and one for a key the profile lacks", async () => {
    const userId = await profileWith({ email: freshEmail("mfa-off") });
    expect(await refusal(tokens.request("mfa_disable", { userId, keyType: "email" }, asUser(userId)))).toMatchObject({ kind: "failed_precondition", reason: "MFA_NOT_ENABLED" });
    expect(await refusal(tokens.request("login", { userId, keyType: "email" }, service))).toMatchObject({ kind: "failed_precondition", reason: "MFA_NOT_ENABLED" });
    expect(await refusal(tokens.request("login", { userId, keyType: "phone" }, service))).toMatchObject({ kind: "not_found", reason: "KEY_NOT_FOUND" });
  });

  it("refuses to remove the last key", async () => {
    const userId = await profileWith({ email: freshEmail("last") });
    expect(await refusal(tokens.request("key_removal", { userId, keyType: "email" }, asUser(userId)))).toMatchObject({ kind: "failed_precondition", reason: "LAST_KEY" });
  });

  it("refuses the anti-phishing code by phone, and for a profile without an email", async () => {
    const userId = await profileWith({ email: freshEmail("ap"), phone: freshPhone() });
    expect(await refusal(tokens.request("anti_phishing_code", { userId, destinationType: "phone" }, asUser(userId)))).toMatchObject({ reason: "EMAIL_ONLY" });
    const phoneOnly = await profileWith({ phone: freshPhone() });
    expect(await refusal(tokens.request("anti_phishing_code", { userId: phoneOnly }, asUser(phoneOnly)))).toMatchObject({ kind: "failed_precondition", reason: "EMAIL_ONLY" });
  });

  it("answers OPERATION_DISABLED for a switched-off operation, both steps of it, before anything else: nothing looked up, charged or sent", async () => {
    // A user may make one OTT request here: had a refused call been charged, the allowed one would be refused.
    const limited = await h.tokens({ rules: { disabled: new Set(["key_recovery", "mfa_disable"]), client: { count: 1, windowMs: 600_000 } } });
    const [email, phone] = [freshEmail("off"), freshPhone()];
    const userId = await profileWith({ email, phone, emailMfa: true });
    const sentBefore = h.email.sent.length + h.sms.sent.length;
    for (let i = 0; i < 3; i++) {
      expect(await refusal(limited.request("mfa_disable", { userId, keyType: "email" }, asUser(userId)))).toMatchObject({ kind: "failed_precondition", reason: "OPERATION_DISABLED" });
    }
    // A user with no profile hears the same: nothing was looked up.
    const nobody = `user-${randomUUID()}`;
    expect(await refusal(limited.request("mfa_disable", { userId: nobody, keyType: "email" }, asUser(nobody)))).toMatchObject({ reason: "OPERATION_DISABLED" });
    for (const subject of [userId, nobody]) {
      expect(await refusal(limited.request("key_recovery", { userId: subject, keyType: "phone" }, service))).toMatchObject({ kind: "failed_precondition", reason: "OPERATION_DISABLED" });
      // Step 2 goes with step 1, and a step-1 OTT that proves nothing is not even tried: not TOKEN_NOT_FOUND.
      expect(
        await refusal(limited.request("key_recovery_new_key", { userId: subject, step1Token: "123456", key: { type: "phone", value: freshPhone() } }, service)),
      ).toMatchObject({ kind: "failed_precondition", reason: "OPERATION_DISABLED" });
    }
    await h.deliver();
    expect(h.email.sent.length + h.sms.sent.length).toBe(sentBefore);
    // The user's one request is still there, and it is one.
    await limited.request("password_change", { userId }, asUser(userId));
    expect(await refusal(limited.request("password_change", { userId }, asUser(userId)))).toMatchObject({ reason: "CLIENT_LIMIT_REACHED" });
  });

  it("refuses step 2 without a step-1 OTT, and with a wrong one (counted against it); proves step 1 once", async () => {
    const email = freshEmail("step2");
    const userId = await profileWith({ email });
    const user = asUser(userId);
    const key = { type: "email" as const, value: freshEmail("step2-new") };
    expect(await refusal(tokens.request("key_change_new_key", { userId, step1Token: "123456", key }, user))).toMatchObject({ reason: "TOKEN_NOT_FOUND" });

    await tokens.request("key_change", { userId, keyType: "email" }, user);
    const right = await codeTo(email);
    const wrong = right === "000000" ? "000001" : "000000";
    expect(await refusal(tokens.request("key_change_new_key", { userId, step1Token: wrong, key }, user))).toMatchObject({
      kind: "invalid_argument",
      reason: "WRONG_TOKEN",
      fields: ["step1_token"],
      metadata: { attempts_left: "4" },
    });
    // A step-1 OTT is proven by step 2, never consumed on its own.
    expect(await refusal(tokens.consume({ operation: "key_change", token: right, userId }, user))).toMatchObject({ reason: "STEP_ONE_OPERATION", fields: ["operation"] });
    // Step 2 with the other key type finds no step 1.
    expect(await refusal(tokens.request("key_change_new_key", { userId, step1Token: right, key: { type: "phone", value: freshPhone() } }, user))).toMatchObject({
      reason: "TOKEN_NOT_FOUND",
    });
    await tokens.request("key_change_new_key", { userId, step1Token: right, key }, user);
    expect(await refusal(tokens.request("key_change_new_key", { userId, step1Token: right, key }, user))).toMatchObject({ reason: "TOKEN_NOT_FOUND" });
  });

  it("an OTT works only for its operation, its user and its processing id", async () => {
    const email = freshEmail("scope");
    const userId = await profileWith({ email, emailMfa: true });
    const other = await profileWith({ email: freshEmail("scope-other") });
    const processingId = randomUUID();
    await tokens.request("login", { userId, keyType: "email", processingId }, service);
    const token = await codeTo(email);
    expect(await refusal(tokens.consume({ operation: "password_change", token, userId }, service))).toMatchObject({ reason: "TOKEN_NOT_FOUND" });
    expect(await refusal(tokens.consume({ operation: "login", token, userId: other, processingId }, service))).toMatchObject({ reason: "TOKEN_NOT_FOUND" });
    // Another processing id is a wrong token (its hash covers the id), counted, not a consumption.
    expect(await refusal(tokens.consume({ operation: "login", token, userId, processingId: randomUUID() }, service))).toMatchObject({ reason: "WRONG_TOKEN" });
    await tokens.consume({ operation: "login", token, userId, processingId }, service);

    const registration = randomUUID();
    const address = freshEmail("scope-reg");
    await tokens.request("registration", { processingId: registration, key: { type: "email", value: address } }, service);
    const registrationToken = await codeTo(address);
    expect(await refusal(tokens.consume({ operation: "registration", token: registrationToken, processingId: randomUUID() }, service))).toMatchObject({ reason: "TOKEN_NOT_FOUND" });
    await tokens.consume({ operation: "registration", token: registrationToken, processingId: registration }, service);
  });

  it("an OTT works until its operation's lifetime is over, and not a millisecond after", async () => {
    const email = freshEmail("life");
    const userId = await profileWith({ email });
    const user = asUser(userId);
    await tokens.request("password_change", { userId }, user);
    const lasting = await codeTo(email);
    h.clock.advance(passwordChangeTtlMs - 1);
    await tokens.consume({ operation: "password_change", token: lasting, userId }, user);

    await tokens.request("password_change", { userId }, user);
    const expired = await codeTo(email);
    h.clock.advance(passwordChangeTtlMs);
    expect(await refusal(tokens.consume({ operation: "password_change", token: expired, userId }, user))).toMatchObject({ kind: "not_found", reason: "TOKEN_NOT_FOUND" });
  });

  it("an OTT is used once, and locks after 5 wrong tokens even against the right one", async () => {
    const phone = freshPhone();
    const reusing = await profileWith({ email: freshEmail("reuse"), phone });
    await tokens.request("key_removal", { userId: reusing, keyType: "phone" }, asUser(reusing));
    const token = await codeTo(phone);
    await tokens.consume({ operation: "key_removal", token, userId: reusing }, asUser(reusing));
    expect(await refusal(tokens.consume({ operation: "key_removal", token, userId: reusing }, asUser(reusing)))).toMatchObject({ reason: "TOKEN_NOT_FOUND" });

    const lockedEmail = freshEmail("locked");
    const locked = await profileWith({ email: lockedEmail, emailMfa: true });
    await tokens.request("mfa_disable", { userId: locked, keyType: "email" }, asUser(locked));
    const right = await codeTo(lockedEmail);
    const wrongs = ["000000", "000001", "000002", "000003", "000004", "000005"].filter((each) => each !== right).slice(0, 5);
    for (const [index, wrong] of wrongs.entries()) {
      expect(await refusal(tokens.consume({ operation: "mfa_disable", token: wrong, userId: locked }, asUser(locked)))).toMatchObject({
        reason: "WRONG_TOKEN",
        fields: ["token"],
        metadata: { attempts_left: String(4 - index) },
      });
    }
    expect(await refusal(tokens.consume({ operation: "mfa_disable", token: right, userId: locked }, asUser(locked)))).toMatchObject({ reason: "TOKEN_LOCKED" });
    expect((await h.profiles.lookup({ userId: locked })).profile?.email?.mfaEnabled).toBe(true);
  });
});
