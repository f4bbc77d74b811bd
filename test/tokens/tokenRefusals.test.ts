import { randomUUID } from "node:crypto";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TokenOperation, UserKeyType } from "../../gen/onetime/v1/token_service_pb.js";
import { backends } from "../support/server.js";
import { failure } from "../support/verificationClient.js";
import { createProfile, freshEmail, freshPhone, startTokenServer, tokenClient, type ProfileKeys, type TokenClient, type TokenServer } from "./tokenTestSupport.js";

/** Every refusal the issue lists, on real Postgres and Redis and on the embedded defaults. */
describe.each(backends)("TokenService refusals (%s backends)", (backend) => {
  let server: TokenServer;
  let service: TokenClient;
  const user = (userId: string) => tokenClient(server.url, { kind: "user", userId });

  beforeAll(async () => {
    server = await startTokenServer(backend, "token_refusals", { TOKEN_DISABLED_OPERATIONS: "key_recovery", TOKEN_TTL_OVERRIDES: "password_change=1" });
    service = await tokenClient(server.url, { kind: "service" });
  });
  afterAll(async () => {
    await server?.stop();
  });

  const profileWith = (keys: ProfileKeys) => createProfile(service, "refuse", keys);


  it("refuses a key change and a key removal while MFA is on for that key", async () => {
    const asUser = await user(await profileWith({ email: freshEmail("mfa-on"), phone: freshPhone(), emailMfa: true }));
    expect(await failure(asUser.requestKeyChangeToken({ keyType: UserKeyType.EMAIL }))).toMatchObject({ code: Code.FailedPrecondition, reason: "MFA_ENABLED" });
    expect(await failure(asUser.requestKeyRemovalToken({ keyType: UserKeyType.EMAIL }))).toMatchObject({ code: Code.FailedPrecondition, reason: "MFA_ENABLED" });
  });

  it("refuses to disable MFA that is already off, and a login OTT for a key without MFA", async () => {
    const userId = await profileWith({ email: freshEmail("mfa-off") });
    expect(await failure((await user(userId)).requestMfaDisableToken({ keyType: UserKeyType.EMAIL }))).toMatchObject({
      code: Code.FailedPrecondition,
      reason: "MFA_NOT_ENABLED",
    });
    expect(await failure(service.requestLoginToken({ userId, keyType: UserKeyType.EMAIL }))).toMatchObject({ code: Code.FailedPrecondition, reason: "MFA_NOT_ENABLED" });
    expect(await failure(service.requestLoginToken({ userId, keyType: UserKeyType.PHONE_NUMBER }))).toMatchObject({ code: Code.NotFound, reason: "KEY_NOT_FOUND" });
  });

  it("refuses to remove the last key", async () => {
    const asUser = await user(await profileWith({ email: freshEmail("last") }));
    expect(await failure(asUser.requestKeyRemovalToken({ keyType: UserKeyType.EMAIL }))).toMatchObject({ code: Code.FailedPrecondition, reason: "LAST_KEY" });
  });

  it("refuses the anti-phishing code by phone, and for a profile without an email", async () => {
    const asUser = await user(await profileWith({ email: freshEmail("ap"), phone: freshPhone() }));
    expect(await failure(asUser.requestAntiPhishingCodeToken({ destinationType: UserKeyType.PHONE_NUMBER }))).toMatchObject({
      code: Code.FailedPrecondition,
      reason: "EMAIL_ONLY",
    });
    const phoneOnly = await user(await profileWith({ phone: freshPhone() }));
    expect(await failure(phoneOnly.requestAntiPhishingCodeToken({}))).toMatchObject({ code: Code.FailedPrecondition, reason: "EMAIL_ONLY" });
  });

  it("answers OPERATION_DISABLED for a switched-off operation, both steps of it, before anything else", async () => {
    const userId = await profileWith({ email: freshEmail("off"), phone: freshPhone() });
    expect(await failure(service.requestKeyRecoveryToken({ userId, lostKeyType: UserKeyType.PHONE_NUMBER }))).toMatchObject({
      code: Code.FailedPrecondition,
      reason: "OPERATION_DISABLED",
    });
    expect(
      await failure(service.requestKeyRecoveryNewKeyToken({ userId, step1Token: "123456", newKey: { key: { case: "phoneNumber", value: freshPhone() } } })),
    ).toMatchObject({ code: Code.FailedPrecondition, reason: "OPERATION_DISABLED" });
  });

  it("refuses step 2 without a step-1 OTT, and with a wrong one (counted against it)", async () => {
    const email = freshEmail("step2");
    const asUser = await user(await profileWith({ email }));
    const newKey = { key: { case: "email" as const, value: freshEmail("step2-new") } };
    expect(await failure(asUser.requestKeyChangeNewKeyToken({ step1Token: "123456", newKey }))).toMatchObject({ code: Code.NotFound, reason: "TOKEN_NOT_FOUND" });

    await asUser.requestKeyChangeToken({ keyType: UserKeyType.EMAIL });
    const right = await server.codeSentTo(email);
    const wrong = right === "000000" ? "000001" : "000000";
    expect(await failure(asUser.requestKeyChangeNewKeyToken({ step1Token: wrong, newKey }))).toMatchObject({
      code: Code.InvalidArgument,
      reason: "WRONG_TOKEN",
      fields: ["step1_token"],
      metadata: { attempts_left: "4" },
    });
    // A step-1 OTT is proven by step 2, never consumed on its own.
    expect(await failure(asUser.consumeToken({ operation: TokenOperation.KEY_CHANGE, token: right }))).toMatchObject({
      code: Code.InvalidArgument,
      reason: "STEP_ONE_OPERATION",
      fields: ["operation"],
    });
    // Step 2 with the other key type finds no step 1.
    expect(
      await failure(asUser.requestKeyChangeNewKeyToken({ step1Token: right, newKey: { key: { case: "phoneNumber", value: freshPhone() } } })),
    ).toMatchObject({ code: Code.NotFound, reason: "TOKEN_NOT_FOUND" });
    await asUser.requestKeyChangeNewKeyToken({ step1Token: right, newKey });
    // Proven once: the same step-1 OTT does not open a second step 2.
    expect(await failure(asUser.requestKeyChangeNewKeyToken({ step1Token: right, newKey }))).toMatchObject({ code: Code.NotFound, reason: "TOKEN_NOT_FOUND" });
  });

  it("an OTT works only for its operation, its user and its processing id", async () => {
    const email = freshEmail("scope");
    const userId = await profileWith({ email, emailMfa: true });
    const other = await profileWith({ email: freshEmail("scope-other") });
    const processingId = randomUUID();
    await service.requestLoginToken({ userId, keyType: UserKeyType.EMAIL, processingId });
    const token = await server.codeSentTo(email);
    for (const attempt of [
      { operation: TokenOperation.PASSWORD_CHANGE, token, userId },
      { operation: TokenOperation.LOGIN, token, userId: other, processingId },
    ]) {
      expect(await failure(service.consumeToken(attempt))).toMatchObject({ code: Code.NotFound, reason: "TOKEN_NOT_FOUND" });
    }
    // Another processing id is a wrong token (its hash covers the id), counted, not a consumption.
    expect(await failure(service.consumeToken({ operation: TokenOperation.LOGIN, token, userId, processingId: randomUUID() }))).toMatchObject({
      code: Code.InvalidArgument,
      reason: "WRONG_TOKEN",
    });
    await service.consumeToken({ operation: TokenOperation.LOGIN, token, userId, processingId });

    const registration = randomUUID();
    const address = freshEmail("scope-reg");
    await service.requestRegistrationToken({ processingId: registration, key: { key: { case: "email", value: address } } });
    const registrationToken = await server.codeSentTo(address);
    expect(await failure(service.consumeToken({ operation: TokenOperation.REGISTRATION, token: registrationToken, processingId: randomUUID() }))).toMatchObject({
      code: Code.NotFound,
      reason: "TOKEN_NOT_FOUND",
    });
    await service.consumeToken({ operation: TokenOperation.REGISTRATION, token: registrationToken, processingId: registration });
  });

  it("an OTT expires, is used once, and locks after 5 wrong tokens even against the right one", async () => {
    const email = freshEmail("life");
    const asUser = await user(await profileWith({ email }));
    // password_change lives 1 s on this server.
    await asUser.requestPasswordChangeToken({});
    const expired = await server.codeSentTo(email);
    await new Promise((resolve) => setTimeout(resolve, 1_300));
    expect(await failure(asUser.consumeToken({ operation: TokenOperation.PASSWORD_CHANGE, token: expired }))).toMatchObject({ code: Code.NotFound, reason: "TOKEN_NOT_FOUND" });

    const phone = freshPhone();
    const reused = await user(await profileWith({ email: freshEmail("reuse"), phone }));
    await reused.requestKeyRemovalToken({ keyType: UserKeyType.PHONE_NUMBER });
    const token = await server.codeSentTo(phone);
    await reused.consumeToken({ operation: TokenOperation.KEY_REMOVAL, token });
    expect(await failure(reused.consumeToken({ operation: TokenOperation.KEY_REMOVAL, token }))).toMatchObject({ code: Code.NotFound, reason: "TOKEN_NOT_FOUND" });

    const lockedEmail = freshEmail("locked");
    const locked = await user(await profileWith({ email: lockedEmail, emailMfa: true }));
    await locked.requestMfaDisableToken({ keyType: UserKeyType.EMAIL });
    const right = await server.codeSentTo(lockedEmail);
    const wrongs = ["000000", "000001", "000002", "000003", "000004", "000005"].filter((each) => each !== right).slice(0, 5);
    for (const [index, wrong] of wrongs.entries()) {
      expect(await failure(locked.consumeToken({ operation: TokenOperation.MFA_DISABLE, token: wrong }))).toMatchObject({
        reason: "WRONG_TOKEN",
        fields: ["token"],
        metadata: { attempts_left: String(4 - index) },
      });
    }
    expect(await failure(locked.consumeToken({ operation: TokenOperation.MFA_DISABLE, token: right }))).toMatchObject({ code: Code.FailedPrecondition, reason: "TOKEN_LOCKED" });
    expect((await locked.getSecurityProfile({})).profile?.emailMfaEnabled).toBe(true);
  });

  it("of 20 concurrent consumptions of one OTT exactly one wins, and the change is audited once", async () => {
    const email = freshEmail("race");
    const phone = freshPhone();
    const userId = await profileWith({ email, phone });
    const asUser = await user(userId);
    await asUser.requestKeyRemovalToken({ keyType: UserKeyType.PHONE_NUMBER });
    const token = await server.codeSentTo(phone);
    const results = await Promise.allSettled(Array.from({ length: 20 }, () => asUser.consumeToken({ operation: TokenOperation.KEY_REMOVAL, token })));
    expect(results.filter((result) => result.status === "fulfilled")).toHaveLength(1);
    const audit = await server.server.app.stores.db("audit_events").where({ subject: userId, action: "profile.key_removed" });
    expect(audit).toHaveLength(1);
  });

  it("a user may not act on another user's profile", async () => {
    const victim = await profileWith({ email: freshEmail("victim"), phone: freshPhone() });
    const attacker = await user(await profileWith({ email: freshEmail("attacker") }));
    for (const call of [
      () => attacker.requestPasswordChangeToken({ userId: victim }),
      () => attacker.requestKeyRemovalToken({ userId: victim, keyType: UserKeyType.PHONE_NUMBER }),
      () => attacker.getSecurityProfile({ userId: victim }),
      () => attacker.consumeToken({ operation: TokenOperation.PASSWORD_CHANGE, token: "123456", userId: victim }),
    ]) {
      expect(await failure(call())).toMatchObject({ code: Code.PermissionDenied, reason: "NOT_YOUR_PROFILE" });
    }
    // Backend-only operations are not a user's at all.
    expect(await failure(attacker.requestLoginToken({ userId: victim, keyType: UserKeyType.EMAIL }))).toMatchObject({ code: Code.PermissionDenied });
    expect(await failure(attacker.consumeToken({ operation: TokenOperation.LOGIN, token: "123456" }))).toMatchObject({
      code: Code.PermissionDenied,
      reason: "OPERATION_NOT_ALLOWED",
    });
  });

  it("refuses public callers unless TOKEN_PUBLIC_REQUESTS is on", async () => {
    const anonymous = await tokenClient(server.url, { kind: "public" });
    const key = { key: { case: "email" as const, value: freshEmail("anonymous") } };
    expect(await failure(anonymous.requestRegistrationToken({ processingId: randomUUID(), key }))).toMatchObject({ code: Code.Unauthenticated });
    expect(await failure(anonymous.requestPasswordRecoveryToken({ processingId: randomUUID(), key }))).toMatchObject({ code: Code.Unauthenticated });
    expect(await failure(anonymous.consumeToken({ operation: TokenOperation.REGISTRATION, token: "123456", processingId: randomUUID() }))).toMatchObject({
      code: Code.Unauthenticated,
    });
  });

  it("answers bad input with invalid_argument naming the field", async () => {
    const processingId = randomUUID();
    const cases: Array<[() => Promise<unknown>, string]> = [
      [() => service.requestRegistrationToken({ processingId, key: { key: { case: "email", value: "not-an-email" } } }), "key.email"],
      [() => service.requestRegistrationToken({ processingId, key: { key: { case: "phoneNumber", value: "+1 555" } } }), "key.phone_number"],
      [() => service.requestPasswordRecoveryToken({ processingId, key: { key: { case: "phoneNumber", value: "12345" } } }), "key.phone_number"],
      [() => service.requestRegistrationToken({ key: { key: { case: "email", value: freshEmail("noid") } } }), "processing_id"],
      [() => service.consumeToken({ operation: 99 as TokenOperation, token: "123456", userId: "u" }), "operation"],
      [() => service.consumeToken({ token: "123456", userId: "u" }), "operation"],
      [() => service.consumeToken({ operation: TokenOperation.REGISTRATION, token: "123456" }), "processing_id"],
      [() => service.requestKeyChangeToken({ userId: "u" }), "key_type"],
      [() => service.requestPasswordChangeToken({}), "user_id"],
    ];
    for (const [call, field] of cases) {
      expect(await failure(call())).toMatchObject({ code: Code.InvalidArgument, fields: [field] });
    }
  });
});

describe.each(backends)("a step 2 that fails (%s backends)", (backend) => {
  let server: TokenServer;
  let service: TokenClient;

  beforeAll(async () => {
    // One OTT per destination and operation: a second step 2 to the same new address is refused.
    server = await startTokenServer(backend, "token_step2_undo", { TOKEN_SEND_LIMIT: "1" });
    service = await tokenClient(server.url, { kind: "service" });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("leaves the step-1 OTT as it was, so step 2 can be tried again without starting over", async () => {
    const taken = freshEmail("step2-taken");
    const firstEmail = freshEmail("undo-a");
    const first = await tokenClient(server.url, { kind: "user", userId: await createProfile(service, "undo", { email: firstEmail }) });
    await first.requestKeyChangeToken({ keyType: UserKeyType.EMAIL });
    await first.requestKeyChangeNewKeyToken({ step1Token: await server.codeSentTo(firstEmail), newKey: { key: { case: "email", value: taken } } });

    const secondEmail = freshEmail("undo-b");
    const second = await tokenClient(server.url, { kind: "user", userId: await createProfile(service, "undo", { email: secondEmail }) });
    await second.requestKeyChangeToken({ keyType: UserKeyType.EMAIL });
    const step1Token = await server.codeSentTo(secondEmail);
    // The new address has had its one OTT of this operation: step 2 is refused after step 1 was proven.
    expect(await failure(second.requestKeyChangeNewKeyToken({ step1Token, newKey: { key: { case: "email", value: taken } } }))).toMatchObject({
      code: Code.ResourceExhausted,
    });
    // The same step-1 OTT still proves step 1, once.
    const other = freshEmail("undo-other");
    await second.requestKeyChangeNewKeyToken({ step1Token, newKey: { key: { case: "email", value: other } } });
    expect(await server.codeSentTo(other)).toMatch(/^\d{6}$/);
    expect(await failure(second.requestKeyChangeNewKeyToken({ step1Token, newKey: { key: { case: "email", value: freshEmail("undo-third") } } }))).toMatchObject({
      code: Code.NotFound,
      reason: "TOKEN_NOT_FOUND",
    });
  });
});
