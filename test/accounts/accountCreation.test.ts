import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backends, startTestServer, type TestServer } from "../support/server.js";
import { accountTokenClient, admin, publicCaller, user, type AccountTokenClient } from "../support/accountTokenClient.js";
import { failure } from "../support/verificationClient.js";
import { AccountStandIns } from "./standIns.js";

describe.each(backends)("account creation tokens on %s backends", (backend) => {
  let standIns: AccountStandIns;
  let server: TestServer;
  let anyone: AccountTokenClient;

  beforeAll(async () => {
    standIns = await AccountStandIns.start();
    server = await startTestServer(backend, "account_creation", { ...standIns.env, ACCOUNT_TOKEN_CLIENT_LIMIT: "100000" });
    anyone = await accountTokenClient(server.url, publicCaller, "connect-json");
  });
  afterAll(async () => {
    await server?.stop();
    await standIns?.stop();
  });

  async function validatedRequestToken(): Promise<string> {
    const { accountCreationRequestToken } = await anyone.createAccountCreationRequestToken({});
    const token = accountCreationRequestToken!.token;
    await anyone.validateAccountCreationRequestToken({ accountCreationRequestToken: token, captchaResponse: "pass" });
    return token;
  }

  it("request token, CAPTCHA, creation token, consumed by a user: the seed's flow", async () => {
    const { accountCreationRequestToken } = await anyone.createAccountCreationRequestToken({});
    const requestToken = accountCreationRequestToken!.token;
    expect(requestToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Number(accountCreationRequestToken!.expireTime!.seconds) * 1000).toBeGreaterThan(Date.now());

    const validated = await anyone.validateAccountCreationRequestToken({ accountCreationRequestToken: requestToken, captchaResponse: "pass" });
    expect(validated.validateTime).toBeDefined();
    // The provider got our secret, the answer and the caller's address.
    const asked = standIns.captchaRequests.at(-1)!;
    expect([asked.get("secret"), asked.get("response"), asked.get("remoteip")]).toEqual(["captcha-secret", "pass", "127.0.0.1"]);

    const { accountCreationToken } = await anyone.createAccountCreationTokenFromRequestToken({ accountCreationRequestToken: requestToken });
    expect(accountCreationToken!.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(accountCreationToken!.token).not.toBe(requestToken);
    // The request token is spent.
    expect(await failure(anyone.createAccountCreationTokenFromRequestToken({ accountCreationRequestToken: requestToken }))).toMatchObject({
      code: Code.NotFound,
      reason: "ACCOUNT_TOKEN_NOT_FOUND",
    });

    const alice = await accountTokenClient(server.url, user("account-alice"));
    const consumed = await alice.consumeAccountCreationToken({ accountCreationToken: accountCreationToken!.token });
    expect(consumed.accountId).toBe("account-alice");
    expect(consumed.useTime).toBeDefined();
    // Once: the same account again, or another, finds nothing.
    const bob = await accountTokenClient(server.url, user("account-bob"));
    for (const client of [alice, bob]) {
      expect(await failure(client.consumeAccountCreationToken({ accountCreationToken: accountCreationToken!.token }))).toMatchObject({ code: Code.NotFound, reason: "ACCOUNT_TOKEN_NOT_FOUND" });
    }
  });

  it("an unvalidated request token buys nothing, and stays usable once validated", async () => {
    const { accountCreationRequestToken } = await anyone.createAccountCreationRequestToken({});
    const token = accountCreationRequestToken!.token;
    expect(await failure(anyone.createAccountCreationTokenFromRequestToken({ accountCreationRequestToken: token }))).toMatchObject({
      code: Code.FailedPrecondition,
      reason: "REQUEST_TOKEN_NOT_VALIDATED",
    });
    expect(await failure(anyone.validateAccountCreationRequestToken({ accountCreationRequestToken: token, captchaResponse: "wrong" }))).toMatchObject({
      code: Code.PermissionDenied,
      reason: "CAPTCHA_FAILED",
    });
    expect(await failure(anyone.validateAccountCreationRequestToken({ accountCreationRequestToken: token, captchaResponse: "broken" }))).toMatchObject({
      code: Code.Unavailable,
      reason: "CAPTCHA_UNAVAILABLE",
    });
    expect(await failure(anyone.createAccountCreationTokenFromRequestToken({ accountCreationRequestToken: token }))).toMatchObject({ reason: "REQUEST_TOKEN_NOT_VALIDATED" });
    await anyone.validateAccountCreationRequestToken({ accountCreationRequestToken: token, captchaResponse: "pass" });
    await anyone.createAccountCreationTokenFromRequestToken({ accountCreationRequestToken: token });
  });

  it("unknown, used, revoked and expired tokens get one answer", async () => {
    const unknown = "A".repeat(43);
    expect(await failure(anyone.validateAccountCreationRequestToken({ accountCreationRequestToken: unknown, captchaResponse: "pass" }))).toMatchObject({ reason: "ACCOUNT_TOKEN_NOT_FOUND" });
    expect(await failure(anyone.createAccountCreationTokenFromRequestToken({ accountCreationRequestToken: unknown }))).toMatchObject({ reason: "ACCOUNT_TOKEN_NOT_FOUND" });
    const alice = await accountTokenClient(server.url, user("account-alice"));
    expect(await failure(alice.consumeAccountCreationToken({ accountCreationToken: unknown }))).toMatchObject({ reason: "ACCOUNT_TOKEN_NOT_FOUND" });

    // Revoked by an operator.
    const operator = await accountTokenClient(server.url, admin);
    const { accountCreationToken } = await operator.createAccountCreationToken({});
    const { tokens } = await operator.listAccountTokens({ pageSize: 1 });
    await operator.revokeAccountToken({ tokenId: tokens[0]!.tokenId });
    expect(await failure(alice.consumeAccountCreationToken({ accountCreationToken: accountCreationToken!.token }))).toMatchObject({ code: Code.NotFound, reason: "ACCOUNT_TOKEN_NOT_FOUND" });

    // Expired: moved past its time in the database, as the clock would.
    const { accountCreationToken: late } = await operator.createAccountCreationToken({});
    const { tokens: [lateRecord] } = await operator.listAccountTokens({ pageSize: 1 });
    await server.server.app.stores.db("account_tokens").where({ id: lateRecord!.tokenId }).update({ expires_at: new Date(Date.now() - 1000) });
    expect(await failure(alice.consumeAccountCreationToken({ accountCreationToken: late!.token }))).toMatchObject({ code: Code.NotFound, reason: "ACCOUNT_TOKEN_NOT_FOUND" });
    const audit = await server.server.app.stores.db("audit_events").where({ subject: lateRecord!.tokenId }).orderBy("id").select("action", "principal_kind", "principal_subject", "client_address");
    expect(audit).toEqual([
      { action: "account_token.created", principal_kind: "admin", principal_subject: "admin-caller", client_address: "127.0.0.1" },
      { action: "account_token.expired_on_use", principal_kind: "user", principal_subject: "account-alice", client_address: "127.0.0.1" },
    ]);
  });

  it("an unknown, expired, already validated or spent request token is NOT_FOUND before the CAPTCHA provider is asked: zero provider calls", async () => {
    const refusedUnasked = async (token: string) => {
      const asked = standIns.captchaRequests.length;
      expect(await failure(anyone.validateAccountCreationRequestToken({ accountCreationRequestToken: token, captchaResponse: "pass" }))).toMatchObject({
        code: Code.NotFound,
        reason: "ACCOUNT_TOKEN_NOT_FOUND",
      });
      expect(standIns.captchaRequests.length - asked).toBe(0);
    };
    await refusedUnasked("A".repeat(43));

    const validated = await validatedRequestToken();
    await refusedUnasked(validated);
    await anyone.createAccountCreationTokenFromRequestToken({ accountCreationRequestToken: validated });
    await refusedUnasked(validated);

    // Expired: moved past its time in the database, as the clock would; marked expired on the way.
    const { accountCreationRequestToken } = await anyone.createAccountCreationRequestToken({});
    const operator = await accountTokenClient(server.url, admin);
    const { tokens: [late] } = await operator.listAccountTokens({ pageSize: 1 });
    await server.server.app.stores.db("account_tokens").where({ id: late!.tokenId }).update({ expires_at: new Date(Date.now() - 1000) });
    await refusedUnasked(accountCreationRequestToken!.token);
    const audit = await server.server.app.stores.db("audit_events").where({ subject: late!.tokenId }).orderBy("id").pluck("action");
    expect(audit).toEqual(["account_token.created", "account_token.expired_on_use"]);

    // A live one is still asked about, once per try.
    const { accountCreationRequestToken: live } = await anyone.createAccountCreationRequestToken({});
    const asked = standIns.captchaRequests.length;
    await anyone.validateAccountCreationRequestToken({ accountCreationRequestToken: live!.token, captchaResponse: "pass" });
    expect(standIns.captchaRequests.length - asked).toBe(1);
  });

  it("of 50 accounts consuming one token at once, exactly one wins and used_at is written once", async () => {
    const requestToken = await validatedRequestToken();
    const { accountCreationToken } = await anyone.createAccountCreationTokenFromRequestToken({ accountCreationRequestToken: requestToken });
    const clients = await Promise.all(Array.from({ length: 50 }, (_, i) => accountTokenClient(server.url, user(`racer-${i}`))));
    const outcomes = await Promise.allSettled(clients.map((client) => client.consumeAccountCreationToken({ accountCreationToken: accountCreationToken!.token })));
    const winners = outcomes.filter((outcome) => outcome.status === "fulfilled");
    expect(winners).toHaveLength(1);
    const rejected = outcomes.filter((outcome): outcome is PromiseRejectedResult => outcome.status === "rejected");
    expect(new Set(rejected.map((outcome) => (outcome.reason as { code: Code }).code))).toEqual(new Set([Code.NotFound]));
    const winner = (winners[0] as PromiseFulfilledResult<{ accountId: string }>).value.accountId;
    const db = server.server.app.stores.db;
    const [row] = await db("account_tokens").where({ account_id: winner, kind: "account_creation" }).select("id", "state", "used_at");
    expect(row.state).toBe("used");
    const uses = await db("audit_events").where({ subject: row.id, action: "account_token.used" }).count<{ count: string }[]>("* as count");
    expect(Number(uses[0]!.count)).toBe(1);
  }, 60_000);

  it("admin-only and user-only RPCs refuse the wrong principal", async () => {
    const service = await accountTokenClient(server.url, { kind: "service" });
    const alice = await accountTokenClient(server.url, user("account-alice"));
    const operator = await accountTokenClient(server.url, admin);
    expect(await failure(anyone.createAccountCreationToken({}))).toMatchObject({ code: Code.Unauthenticated });
    expect(await failure(alice.createAccountCreationToken({}))).toMatchObject({ code: Code.PermissionDenied, reason: "ROLE_NOT_ALLOWED" });
    expect(await failure(service.createAccountCreationToken({}))).toMatchObject({ code: Code.PermissionDenied, reason: "ROLE_NOT_ALLOWED" });
    expect(await failure(alice.listAccountTokens({}))).toMatchObject({ code: Code.PermissionDenied });
    expect(await failure(alice.revokeAccountToken({ tokenId: "00000000-0000-4000-8000-000000000000" }))).toMatchObject({ code: Code.PermissionDenied });
    expect(await failure(anyone.consumeAccountCreationToken({ accountCreationToken: "x" }))).toMatchObject({ code: Code.Unauthenticated });
    expect(await failure(operator.consumeAccountCreationToken({ accountCreationToken: "x" }))).toMatchObject({ code: Code.PermissionDenied });
    expect(await failure(service.attachAuthToken({ authToken: "x" }))).toMatchObject({ code: Code.PermissionDenied });
  });
});
