import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TokenOperation, UserKeyType } from "../../gen/onetime/v1/token_service_pb.js";
import { backends } from "../support/server.js";
import { createProfile, freshEmail, freshPhone, freshUserId, startTokenServer, tokenClient, type ProfileKeys, type TokenClient, type TokenServer } from "./tokenTestSupport.js";

/**
 * Every operation's happy path end to end: request, the message captured from the console
 * channel, consume, the profile changed (or the OTT confirmed). On real Postgres and Redis, and on
 * the embedded defaults.
 */
describe.each(backends)("TokenService flows (%s backends)", (backend) => {
  let server: TokenServer;
  let service: TokenClient;
  const user = (userId: string) => tokenClient(server.url, { kind: "user", userId });

  beforeAll(async () => {
    server = await startTokenServer(backend, "token_flows");
    service = await tokenClient(server.url, { kind: "service" });
  });
  afterAll(async () => {
    await server?.stop();
  });

  const profileWith = (keys: ProfileKeys) => createProfile(service, "flow", keys);


  it("registration: the OTT goes to the chosen email; consuming it yields the verified key to create the profile with", async () => {
    const email = freshEmail("register");
    const processingId = randomUUID();
    const { token } = await service.requestRegistrationToken({ processingId, key: { key: { case: "email", value: email } } });
    expect(token?.destination).toMatch(/^r\*\*\*@example\.com$/);
    expect(token?.destinationType).toBe(UserKeyType.EMAIL);
    expect(Number(token?.expiresIn?.seconds)).toBe(600); // an out-of-band code: 10 minutes by default (NIST SP 800-63B)
    const consumed = await service.consumeToken({ operation: TokenOperation.REGISTRATION, token: await server.codeSentTo(email), processingId });
    expect(consumed.verifiedKey?.key).toEqual({ case: "email", value: email });
    const userId = freshUserId("registered");
    const { profile } = await service.createSecurityProfile({ userId, email: { value: email, verified: true } });
    expect(profile).toMatchObject({ userId, email, emailVerified: true });
  });

  it("registration by phone: the OTT goes by SMS, masked +1******dddd", async () => {
    const phone = freshPhone();
    const processingId = randomUUID();
    const { token } = await service.requestRegistrationToken({ processingId, key: { key: { case: "phoneNumber", value: phone } } });
    expect(token?.destination).toBe(`+1******${phone.slice(-4)}`);
    const consumed = await service.consumeToken({ operation: TokenOperation.REGISTRATION, token: await server.codeSentTo(phone), processingId });
    expect(consumed.verifiedKey?.key).toEqual({ case: "phoneNumber", value: phone });
  });

  it("login: with MFA on for the email, the OTT goes there and is confirmed once", async () => {
    const email = freshEmail("login");
    const userId = await profileWith({ email, emailMfa: true });
    const processingId = randomUUID();
    await service.requestLoginToken({ userId, keyType: UserKeyType.EMAIL, processingId });
    const consumed = await service.consumeToken({ operation: TokenOperation.LOGIN, token: await server.codeSentTo(email), userId, processingId });
    expect(consumed).toMatchObject({ operation: TokenOperation.LOGIN, userId });
  });

  it("password recovery: the OTT goes to the address typed; consuming names the user", async () => {
    const email = freshEmail("recover");
    const userId = await profileWith({ email });
    const processingId = randomUUID();
    await service.requestPasswordRecoveryToken({ processingId, key: { key: { case: "email", value: email.toUpperCase().replace("EXAMPLE.COM", "Example.com") } } });
    const consumed = await service.consumeToken({ operation: TokenOperation.PASSWORD_RECOVERY, token: await server.codeSentTo(email), processingId });
    expect(consumed).toMatchObject({ operation: TokenOperation.PASSWORD_RECOVERY, userId });
  });

  it("key recovery: step 1 goes to the other key, step 2 to the new key, which then replaces the lost one", async () => {
    const email = freshEmail("keyrec");
    const lostPhone = freshPhone();
    const newPhone = freshPhone();
    // MFA on the email too: recovering a key MFA sends to needs the step-1 OTT to be a second factor.
    const userId = await profileWith({ email, emailMfa: true, phone: lostPhone, phoneMfa: true });
    const step1 = await service.requestKeyRecoveryToken({ userId, lostKeyType: UserKeyType.PHONE_NUMBER });
    expect(step1.token?.destinationType).toBe(UserKeyType.EMAIL);
    const step1Token = await server.codeSentTo(email);
    expect(server.sentTo(lostPhone)).toHaveLength(0);
    await service.requestKeyRecoveryNewKeyToken({ userId, step1Token, newKey: { key: { case: "phoneNumber", value: newPhone } } });
    const consumed = await service.consumeToken({ operation: TokenOperation.KEY_RECOVERY_NEW_KEY, token: await server.codeSentTo(newPhone), userId });
    expect(consumed.profile).toMatchObject({ phoneNumber: newPhone, phoneNumberVerified: true, phoneNumberMfaEnabled: false, email });
  });

  it("password change: to the email, or to the phone when there is no email; a user asks for itself", async () => {
    const email = freshEmail("pwchange");
    const withEmail = await profileWith({ email, phone: freshPhone() });
    const asUser = await user(withEmail);
    const { token } = await asUser.requestPasswordChangeToken({});
    expect(token?.destinationType).toBe(UserKeyType.EMAIL);
    await asUser.consumeToken({ operation: TokenOperation.PASSWORD_CHANGE, token: await server.codeSentTo(email) });

    const phone = freshPhone();
    const phoneOnly = await profileWith({ phone });
    expect((await (await user(phoneOnly)).requestPasswordChangeToken({})).token?.destinationType).toBe(UserKeyType.PHONE_NUMBER);
    expect(await server.codeSentTo(phone)).toMatch(/^\d{6}$/);
  });

  it("key addition: the OTT goes to the new phone number, which is then on the profile, verified", async () => {
    const userId = await profileWith({ email: freshEmail("add") });
    const phone = freshPhone();
    const asUser = await user(userId);
    await asUser.requestKeyAdditionToken({ newKey: { key: { case: "phoneNumber", value: phone } } });
    const consumed = await asUser.consumeToken({ operation: TokenOperation.KEY_ADDITION, token: await server.codeSentTo(phone) });
    expect(consumed.profile).toMatchObject({ userId, phoneNumber: phone, phoneNumberVerified: true });
    expect((await asUser.getSecurityProfile({})).profile?.phoneNumber).toBe(phone);
  });

  it("key change: step 1 to the current email, step 2 to the new one, which then replaces it", async () => {
    const oldEmail = freshEmail("old");
    const newEmail = freshEmail("new");
    const userId = await profileWith({ email: oldEmail });
    const asUser = await user(userId);
    await asUser.requestKeyChangeToken({ keyType: UserKeyType.EMAIL });
    const step1Token = await server.codeSentTo(oldEmail);
    await asUser.requestKeyChangeNewKeyToken({ step1Token, newKey: { key: { case: "email", value: newEmail } } });
    const consumed = await asUser.consumeToken({ operation: TokenOperation.KEY_CHANGE_NEW_KEY, token: await server.codeSentTo(newEmail) });
    expect(consumed.profile).toMatchObject({ email: newEmail, emailVerified: true });
    // The old address is free again: a registration to it is sent.
    await service.requestRegistrationToken({ processingId: randomUUID(), key: { key: { case: "email", value: oldEmail } } });
    expect(await server.codeSentTo(oldEmail)).toMatch(/^\d{6}$/);
  });

  it("key removal: the OTT goes to the key removed; then the profile has only the other", async () => {
    const email = freshEmail("remove");
    const phone = freshPhone();
    const userId = await profileWith({ email, phone });
    const asUser = await user(userId);
    await asUser.requestKeyRemovalToken({ keyType: UserKeyType.PHONE_NUMBER });
    const consumed = await asUser.consumeToken({ operation: TokenOperation.KEY_REMOVAL, token: await server.codeSentTo(phone) });
    expect(consumed.profile).toMatchObject({ email, phoneNumber: "", phoneNumberVerified: false });
  });

  it("anti-phishing code: set through an emailed OTT; every later email to the user shows it", async () => {
    const email = freshEmail("antiphish");
    const userId = await profileWith({ email, phone: freshPhone() });
    const asUser = await user(userId);
    await asUser.requestAntiPhishingCodeToken({});
    expect(server.sentTo(email).at(-1)?.text ?? "").not.toContain("Blue-Heron-42");
    const consumed = await asUser.consumeToken({ operation: TokenOperation.ANTI_PHISHING_CODE, token: await server.codeSentTo(email), antiPhishingCode: "Blue-Heron-42" });
    expect(consumed.profile?.hasAntiPhishingCode).toBe(true);

    await asUser.requestPasswordChangeToken({});
    await server.codeSentTo(email);
    expect(server.sentTo(email).at(-1)?.text).toContain("Blue-Heron-42");
  });

  it("MFA: turned on for a verified key, then off through an OTT to that key", async () => {
    const email = freshEmail("mfa");
    const userId = await profileWith({ email });
    const asUser = await user(userId);
    expect((await asUser.enableMfa({ keyType: UserKeyType.EMAIL })).profile?.emailMfaEnabled).toBe(true);
    await asUser.requestMfaDisableToken({ keyType: UserKeyType.EMAIL });
    const consumed = await asUser.consumeToken({ operation: TokenOperation.MFA_DISABLE, token: await server.codeSentTo(email) });
    expect(consumed.profile?.emailMfaEnabled).toBe(false);
  });
});
