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
    server = await startTokenServer(backend, "token_refusals", { TOKEN_DISABLED_OPERATIONS: "key_recovery" });
    service = await tokenClient(server.url, { kind: "service" });
  });
  afterAll(async () => {
    await server?.stop();
  });

  const profileWith = (keys: ProfileKeys) => createProfile(service, "refuse", keys);


  // The rules behind each refusal (MFA, last key, anti-phishing by email, disabled operations, step
  // 2, an OTT's scope, expiry, single use and lock) are tested on the domain harness, in
  // test/domain/profileTokens/tokenRules.test.ts; here, that they reach the wire as documented.
  it("answers a refusal with its code, reason, field and attempts_left on the wire; a switched-off operation, both steps, with OPERATION_DISABLED", async () => {
    const lockedEmail = freshEmail("wire");
    const asUser = await user(await profileWith({ email: lockedEmail, emailMfa: true }));
    await asUser.requestMfaDisableToken({ keyType: UserKeyType.EMAIL });
    const right = await server.codeSentTo(lockedEmail);
    expect(await failure(asUser.consumeToken({ operation: TokenOperation.MFA_DISABLE, token: right === "000000" ? "000001" : "000000" }))).toMatchObject({
      code: Code.InvalidArgument,
      reason: "WRONG_TOKEN",
      fields: ["token"],
      metadata: { attempts_left: "4" },
    });
    expect(await failure(asUser.requestKeyRemovalToken({ keyType: UserKeyType.EMAIL }))).toMatchObject({ code: Code.FailedPrecondition, reason: "MFA_ENABLED" });

    const userId = await profileWith({ email: freshEmail("off"), phone: freshPhone() });
    expect(await failure(service.requestKeyRecoveryToken({ userId, lostKeyType: UserKeyType.PHONE_NUMBER }))).toMatchObject({
      code: Code.FailedPrecondition,
      reason: "OPERATION_DISABLED",
    });
    expect(
      await failure(service.requestKeyRecoveryNewKeyToken({ userId, step1Token: "123456", newKey: { key: { case: "phoneNumber", value: freshPhone() } } })),
    ).toMatchObject({ code: Code.FailedPrecondition, reason: "OPERATION_DISABLED" });
    expect(await failure(asUser.consumeToken({ operation: TokenOperation.KEY_CHANGE, token: "123456" }))).toMatchObject({
      code: Code.InvalidArgument,
      reason: "STEP_ONE_OPERATION",
      fields: ["operation"],
    });
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
