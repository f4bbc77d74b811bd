import { randomUUID } from "node:crypto";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TokenOperation } from "../../gen/onetime/v1/token_service_pb.js";
import { CaptchaStandIn } from "../support/captchaStandIn.js";
import { backends } from "../support/server.js";
import { failure } from "../support/verificationClient.js";
import { createProfile, freshEmail, startTokenServer, tokenClient, type TokenServer } from "./tokenTestSupport.js";

const resendDelaySeconds = 60;
const emailKey = (value: string) => ({ key: { case: "email" as const, value } });

/** What `call` came to, and how many calls `captcha` got meanwhile. */
async function counted<T>(captcha: CaptchaStandIn, call: () => Promise<T>): Promise<[T, number]> {
  const before = captcha.requests.length;
  const result = await call();
  return [result, captcha.requests.length - before];
}

/**
 * TOKEN_PUBLIC_CAPTCHA: a public caller's registration and password recovery requests carry a
 * CAPTCHA answer, checked by a real siteverify round trip (the stand-in) after the per-address
 * limit and before anything about the destination is looked up or charged.
 */
describe.each(backends)("TokenService asks public callers for a CAPTCHA (%s backends)", (backend) => {
  let captcha: CaptchaStandIn;
  let server: TokenServer;
  /** Seconds from now until `time`. */
  const secondsUntil = (time: { seconds: bigint } | undefined) => Number(time!.seconds) - Date.now() / 1000;

  beforeAll(async () => {
    captcha = await CaptchaStandIn.start();
    server = await startTokenServer(backend, "token_captcha", {
      ...captcha.env,
      TOKEN_PUBLIC_REQUESTS: "true",
      TOKEN_PUBLIC_CAPTCHA: "true",
      // A second OTT to one destination inside this wait is RESEND_TOO_SOON: that is how a test
      // sees whether a refused request charged the destination's send limit.
      TOKEN_RESEND_DELAY_SECONDS: String(resendDelaySeconds),
    });
  });
  afterAll(async () => {
    await server?.stop();
    await captcha?.stop();
  });

  it("without an answer: INVALID_ARGUMENT naming captcha_response, no provider call, nothing sent nor charged; with the right one the OTT goes out as the destination's first", async () => {
    const anonymous = await tokenClient(server.url, { kind: "public" });
    const email = freshEmail("captcha");
    const processingId = randomUUID();
    const [refusal, askedWithout] = await counted(captcha, () => failure(anonymous.requestRegistrationToken({ processingId, key: emailKey(email) })));
    expect(refusal).toMatchObject({ code: Code.InvalidArgument, reason: "CAPTCHA_REQUIRED", fields: ["captcha_response"] });
    expect(askedWithout).toBe(0);

    // The destination's send limit was not charged: this is its first send, not RESEND_TOO_SOON.
    const [answer, askedWith] = await counted(captcha, () => anonymous.requestRegistrationToken({ processingId, key: emailKey(email), captchaResponse: "pass" }));
    expect(askedWith).toBe(1);
    expect(secondsUntil(answer.token?.nextResendTime)).toBeGreaterThan(resendDelaySeconds - 10);
    expect(secondsUntil(answer.token?.nextResendTime)).toBeLessThanOrEqual(resendDelaySeconds + 1);
    // The provider got our secret, the answer and the caller's address.
    expect(Object.fromEntries(captcha.requests.at(-1)!)).toEqual({ secret: "captcha-secret", response: "pass", remoteip: "127.0.0.1" });
    // ...and the send limit is live: a second right answer right away is refused.
    expect(await failure(anonymous.requestRegistrationToken({ processingId, key: emailKey(email), captchaResponse: "pass" }))).toMatchObject({
      code: Code.ResourceExhausted,
      reason: "RESEND_TOO_SOON",
    });

    // One message went to the address, the accepted request's: consuming it needs no answer.
    const code = await server.codeSentTo(email);
    expect(server.sentTo(email)).toHaveLength(1);
    const consumed = await anonymous.consumeToken({ operation: TokenOperation.REGISTRATION, token: code, processingId });
    expect(consumed.verifiedKey?.key).toEqual({ case: "email", value: email });
  });

  it("a refused answer is PERMISSION_DENIED CAPTCHA_FAILED, and an unreachable provider UNAVAILABLE, alike for a known and an unknown address, with nothing charged", async () => {
    const service = await tokenClient(server.url, { kind: "service" });
    const known = freshEmail("captcha-known");
    await createProfile(service, "captcha", { email: known });
    const anonymous = await tokenClient(server.url, { kind: "public" });
    const recover = (email: string, captchaResponse: string) => anonymous.requestPasswordRecoveryToken({ processingId: randomUUID(), key: emailKey(email), captchaResponse });

    const [forKnown, askedForKnown] = await counted(captcha, () => failure(recover(known, "wrong")));
    const [forUnknown, askedForUnknown] = await counted(captcha, () => failure(recover(freshEmail("captcha-unknown"), "wrong")));
    expect(forKnown).toMatchObject({ code: Code.PermissionDenied, reason: "CAPTCHA_FAILED" });
    expect(forUnknown).toEqual(forKnown);
    expect([askedForKnown, askedForUnknown]).toEqual([1, 1]);
    expect(await failure(recover(known, "broken"))).toMatchObject({ code: Code.Unavailable, reason: "CAPTCHA_UNAVAILABLE" });

    // Three refused requests for the known address charged its send limit nothing: this is its first send.
    const answer = await recover(known, "pass");
    expect(secondsUntil(answer.token?.nextResendTime)).toBeGreaterThan(resendDelaySeconds - 10);
    await server.codeSentTo(known);
    expect(server.sentTo(known)).toHaveLength(1);
  });

  it("a service needs no answer, and one it sends is not checked: the provider is never asked", async () => {
    const service = await tokenClient(server.url, { kind: "service" });
    const known = freshEmail("captcha-service");
    await createProfile(service, "captcha-service", { email: known });
    const [, asked] = await counted(captcha, async () => {
      await service.requestRegistrationToken({ processingId: randomUUID(), key: emailKey(freshEmail("captcha-service-new")) });
      await service.requestPasswordRecoveryToken({ processingId: randomUUID(), key: emailKey(known), captchaResponse: "wrong" });
    });
    expect(asked).toBe(0);
    await server.codeSentTo(known);
  });
});

describe.each(backends)("TokenService asks the CAPTCHA provider only within the client limit (%s backends)", (backend) => {
  const clientLimit = 3;
  let captcha: CaptchaStandIn;
  let server: TokenServer;

  beforeAll(async () => {
    captcha = await CaptchaStandIn.start();
    // A server of its own: every test calls from 127.0.0.1, one client address.
    server = await startTokenServer(backend, "token_captcha_limit", {
      ...captcha.env,
      TOKEN_PUBLIC_REQUESTS: "true",
      TOKEN_PUBLIC_CAPTCHA: "true",
      TOKEN_CLIENT_LIMIT: String(clientLimit),
    });
  });
  afterAll(async () => {
    await server?.stop();
    await captcha?.stop();
  });

  it("a public caller over its client limit is refused CLIENT_LIMIT_REACHED before the provider is asked", async () => {
    const anonymous = await tokenClient(server.url, { kind: "public" });
    const register = (captchaResponse?: string) =>
      anonymous.requestRegistrationToken({ processingId: randomUUID(), key: emailKey(freshEmail("captcha-limit")), ...(captchaResponse === undefined ? {} : { captchaResponse }) });
    for (let i = 0; i < clientLimit; i++) expect(await failure(register())).toMatchObject({ reason: "CAPTCHA_REQUIRED" });
    const [refusal, asked] = await counted(captcha, () => failure(register("pass")));
    expect(refusal).toMatchObject({ code: Code.ResourceExhausted, reason: "CLIENT_LIMIT_REACHED" });
    expect(asked).toBe(0);
  });
});
