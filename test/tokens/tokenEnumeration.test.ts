import { randomUUID } from "node:crypto";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TokenOperation } from "../../gen/onetime/v1/token_service_pb.js";
import { AccountStandIns } from "../accounts/standIns.js";
import { accountTokenClient, user } from "../support/accountTokenClient.js";
import { backends, startTestServer, type TestServer } from "../support/server.js";
import { failure } from "../support/verificationClient.js";
import { freshEmail, freshUserId, startTokenServer, tokenClient, type TokenClient, type TokenServer } from "./tokenTestSupport.js";

/** Headers that differ between any two answers, known address or not. */
const perAnswerHeaders = new Set(["date", "x-request-id", "content-length"]);

/** A timestamp (expiry, next resend), an id (the caller's processing id), or the letter a masked destination keeps. */
const perCallText = (text: string) =>
  text
    .replace(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/, "<time>")
    .replace(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, "<id>")
    .replace(/^[^*@]\*\*\*@/, "x***@");

function withoutPerCall(value: unknown): unknown {
  if (typeof value === "string") return perCallText(value);
  if (Array.isArray(value)) return value.map(withoutPerCall);
  if (value !== null && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, withoutPerCall(item)]));
  return value;
}

/**
 * Everything a public caller reads of one request to the API port, as Connect JSON over HTTP/1.1
 * shows it: status, every header, the body; less only what differs between any two calls.
 * Without a body, a GET (how /metrics was read).
 */
async function publicView(baseUrl: string, path: string, body?: unknown) {
  const response = await fetch(`${baseUrl}${path}`, body === undefined ? {} : { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Not JSON (metrics text, say): compared as it is.
  }
  return {
    status: response.status,
    headers: [...response.headers].filter(([name]) => !perAnswerHeaders.has(name)),
    body: withoutPerCall(parsed),
  };
}

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

  // The rules (same answer, same limits and store work, nothing sent, never consumable) are tested
  // on the domain harness, in test/domain/profileTokens/tokenEnumeration.test.ts; here, that nothing
  // a public caller can read on the wire tells the two apart.
  it.each([
    ["RequestPasswordRecoveryToken", "a profile's address"],
    ["RequestRegistrationToken", "an address another profile holds"],
  ])("%s, called by the public: nothing on the API port (status, headers, body, /metrics) differs for %s", async (rpc) => {
    const known = freshEmail("seen-known");
    await profileWith(known);
    const unknown = freshEmail("seen-unknown");
    const call = (email: string) => publicView(server.url, `/onetime.v1.TokenService/${rpc}`, { processingId: randomUUID(), key: { email } });
    const forKnown = { first: await call(known), again: await call(known) };
    // Whatever the known address set moving (a message sent, counted) has moved before it is read.
    // Otherwise nothing is sent, and there is nothing to await: a real-time wait gives a leak (a
    // message the relay would send in the background) the time to show in /metrics.
    if (rpc === "RequestPasswordRecoveryToken") await server.codeSentTo(known);
    else await new Promise((resolve) => setTimeout(resolve, 300));
    const metricsAfterKnown = await publicView(server.url, "/metrics");
    const forUnknown = { first: await call(unknown), again: await call(unknown) };
    // As above: nothing to await, so a wait in real time for what must not happen.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const metricsAfterUnknown = await publicView(server.url, "/metrics");

    expect(forKnown.first.status).toBe(200);
    expect(forKnown.again.body).toMatchObject({ code: "resource_exhausted" });
    expect(forUnknown).toEqual(forKnown);
    expect(metricsAfterKnown.status).not.toBe(200);
    expect(metricsAfterUnknown).toEqual(metricsAfterKnown);
  });

  it("with TOKEN_PUBLIC_REQUESTS=true, registration works without credentials end to end; user operations stay closed", async () => {
    const email = freshEmail("public");
    const processingId = randomUUID();
    await anonymous.requestRegistrationToken({ processingId, key: { key: { case: "email", value: email } } });
    const consumed = await anonymous.consumeToken({ operation: TokenOperation.REGISTRATION, token: await server.codeSentTo(email), processingId });
    expect(consumed.verifiedKey?.key).toEqual({ case: "email", value: email });
    expect(await failure(anonymous.consumeToken({ operation: TokenOperation.PASSWORD_CHANGE, token: "123456", userId: "u" }))).toMatchObject({
      code: Code.Unauthenticated,
      reason: "TOKEN_MISSING",
      message: "this operation needs a bearer token (user or service): send one",
    });
    expect(await failure(anonymous.requestPasswordChangeToken({ userId: "u" }))).toMatchObject({ code: Code.Unauthenticated });
  });
});

/**
 * AccountTokenService's public RPCs that name an address are the two that push to a device; the
 * others take a token (or nothing), whose own answer is what the caller asked for. A device an
 * account was created from is as unknown to the public as a device never seen.
 */
describe.each(backends)("AccountTokenService tells no one whether a device is known (%s backends)", (backend) => {
  let standIns: AccountStandIns;
  let server: TestServer;
  let deviceNumber = 0;
  const freshDevice = () => `${(deviceNumber++).toString(16)}${randomUUID().replaceAll("-", "")}`.padStart(64, "e").slice(-64);

  beforeAll(async () => {
    standIns = await AccountStandIns.start();
    server = await startTestServer(backend, "account_enumeration", { ...standIns.env, ACCOUNT_TOKEN_CLIENT_LIMIT: "100000" });
  });
  afterAll(async () => {
    await server?.stop();
    await standIns?.stop();
  });

  /** A device a creation token was pushed to and an account consumed it: known to onetime. */
  async function knownDevice(): Promise<string> {
    const device = freshDevice();
    const anyone = await accountTokenClient(server.url);
    await anyone.sendAccountCreationTokenByPush({ device: { pnProvider: "apns.dev", pnPrid: device } });
    const account = await accountTokenClient(server.url, user(`account-${device.slice(0, 8)}`));
    await account.consumeAccountCreationToken({ accountCreationToken: standIns.lastTokenFor(device) });
    return device;
  }

  it.each(["SendAccountRecoveryTokenByPush", "SendAccountCreationTokenByPush"])(
    "%s, called by the public: nothing on the API port (status, headers, body, /metrics) differs for a known device",
    async (rpc) => {
      const call = (device: string) => publicView(server.url, `/onetime.v1.AccountTokenService/${rpc}`, { device: { pnProvider: "apns.dev", pnPrid: device } });
      const known = await knownDevice();
      const forKnown = { first: await call(known), again: await call(known) };
      const metricsAfterKnown = await publicView(server.url, "/metrics");
      const unknown = freshDevice();
      const forUnknown = { first: await call(unknown), again: await call(unknown) };
      const metricsAfterUnknown = await publicView(server.url, "/metrics");

      expect(forKnown.first.status).toBe(200);
      expect(forKnown.again.body).toMatchObject({ code: "permission_denied" });
      expect(forUnknown).toEqual(forKnown);
      expect(metricsAfterKnown.status).not.toBe(200);
      expect(metricsAfterUnknown).toEqual(metricsAfterKnown);
    },
  );
});
