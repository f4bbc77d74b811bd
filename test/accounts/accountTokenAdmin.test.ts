import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { toJsonString } from "@bufbuild/protobuf";
import { AccountTokenKind, AccountTokenState, ListAccountTokensResponseSchema } from "../../gen/onetime/v1/account_token_service_pb.js";
import { backends, startTestServer, type TestServer } from "../support/server.js";
import { accountTokenClient, admin, publicCaller, user, type AccountTokenClient } from "../support/accountTokenClient.js";
import { failure } from "../support/verificationClient.js";

describe.each(backends)("operators and limits on %s backends", (backend) => {
  let server: TestServer;
  let operator: AccountTokenClient;

  beforeAll(async () => {
    server = await startTestServer(backend, "account_admin", { ACCOUNT_TOKEN_CLIENT_LIMIT: "40", ACCOUNT_TOKEN_CLIENT_WINDOW_SECONDS: "600" });
    operator = await accountTokenClient(server.url, admin);
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("lists tokens newest first, page by page, filtered by account, kind and state; never a token value", async () => {
    const created: string[] = [];
    for (let i = 0; i < 5; i++) created.push((await operator.createAccountCreationToken({})).accountCreationToken!.token);
    const grace = await accountTokenClient(server.url, user("account-grace"), "grpc", { "x-forwarded-for": "198.51.100.1" });
    await grace.consumeAccountCreationToken({ accountCreationToken: created[1]! });

    const seen: string[] = [];
    let pageToken = "";
    do {
      const page = await operator.listAccountTokens({ pageSize: 2, pageToken, kind: AccountTokenKind.ACCOUNT_CREATION });
      expect(page.tokens.length).toBeLessThanOrEqual(2);
      seen.push(...page.tokens.map((token) => token.tokenId));
      expect(toJsonString(ListAccountTokensResponseSchema, page)).not.toMatch(new RegExp(created.join("|")));
      pageToken = page.nextPageToken;
    } while (pageToken !== "");
    expect(seen).toHaveLength(5);
    expect(new Set(seen).size).toBe(5);

    const { tokens: linked } = await operator.listAccountTokens({ accountId: "account-grace" });
    expect(linked).toHaveLength(1);
    expect(linked[0]).toMatchObject({ state: AccountTokenState.USED, accountId: "account-grace", kind: AccountTokenKind.ACCOUNT_CREATION });
    expect(linked[0]!.useTime).toBeDefined();
    expect((await operator.listAccountTokens({ state: AccountTokenState.USED })).tokens.map((token) => token.tokenId)).toEqual([linked[0]!.tokenId]);
    expect((await operator.listAccountTokens({ state: AccountTokenState.ACTIVE, kind: AccountTokenKind.ACCOUNT_CREATION })).tokens).toHaveLength(4);

    // A page token belongs to its query.
    const first = await operator.listAccountTokens({ pageSize: 1, kind: AccountTokenKind.ACCOUNT_CREATION });
    expect(await failure(operator.listAccountTokens({ pageSize: 1, pageToken: first.nextPageToken, kind: AccountTokenKind.AUTH }))).toMatchObject({
      code: Code.InvalidArgument,
      fields: ["page_token"],
    });
    expect(await failure(operator.listAccountTokens({ pageToken: "garbage" }))).toMatchObject({ code: Code.InvalidArgument, fields: ["page_token"] });
  });

  it("revokes a usable token, once; revoking again or a used one changes nothing", async () => {
    const { accountCreationToken } = await operator.createAccountCreationToken({});
    const [record] = (await operator.listAccountTokens({ pageSize: 1 })).tokens;
    const { token: revoked } = await operator.revokeAccountToken({ tokenId: record!.tokenId });
    expect(revoked).toMatchObject({ tokenId: record!.tokenId, state: AccountTokenState.REVOKED });
    expect(revoked!.revokeTime).toBeDefined();
    const again = await operator.revokeAccountToken({ tokenId: record!.tokenId.toUpperCase() });
    expect(again.token!.revokeTime).toEqual(revoked!.revokeTime);
    const hank = await accountTokenClient(server.url, user("account-hank"));
    expect(await failure(hank.consumeAccountCreationToken({ accountCreationToken: accountCreationToken!.token }))).toMatchObject({ code: Code.NotFound });
    const revocations = await server.server.app.stores.db("audit_events").where({ subject: record!.tokenId, action: "account_token.revoked" }).select("principal_kind");
    expect(revocations).toEqual([{ principal_kind: "admin" }]);
    expect(await failure(operator.revokeAccountToken({ tokenId: "00000000-0000-4000-8000-000000000000" }))).toMatchObject({ code: Code.NotFound, reason: "ACCOUNT_TOKEN_NOT_FOUND" });
    expect(await failure(operator.revokeAccountToken({ tokenId: "not-a-uuid" }))).toMatchObject({ code: Code.InvalidArgument, fields: ["token_id"] });
  });

  it("limits public callers per client address and users per id; never admins", async () => {
    // This file's other calls came from this address as well: use up what is left of its 40.
    const anyone = await accountTokenClient(server.url, publicCaller);
    let refused;
    for (let i = 0; i < 41 && refused === undefined; i++) {
      refused = await anyone.createAuthToken({}).then(() => undefined, (error: unknown) => error);
    }
    expect(await failure(Promise.reject(refused))).toMatchObject({ code: Code.ResourceExhausted, reason: "CLIENT_LIMIT_REACHED" });
    expect(Number((await failure(Promise.reject(refused))).metadata.retry_after_seconds)).toBeGreaterThan(0);
    for (const call of [
      anyone.createAccountCreationRequestToken({}),
      anyone.redeemAuthToken({ deviceSecret: "x" }),
      anyone.sendAccountCreationTokenByPush({ device: { pnProvider: "fcm", pnPrid: "abc" } }),
    ]) {
      expect(await failure(call)).toMatchObject({ code: Code.ResourceExhausted, reason: "CLIENT_LIMIT_REACHED" });
    }
    // A user counts by its id, not its address (which a NAT shares with others): not refused here,
    // until it has made its own 40 calls.
    const ivy = await accountTokenClient(server.url, user("account-ivy"));
    const answers = [];
    for (let i = 0; i < 41; i++) answers.push((await failure(ivy.attachAuthToken({ authToken: "x" }))).code);
    expect(answers.slice(0, 40).every((code) => code === Code.NotFound)).toBe(true);
    expect(answers[40]).toBe(Code.ResourceExhausted);
    expect(await failure((await accountTokenClient(server.url, user("account-jo"))).attachAuthToken({ authToken: "x" }))).toMatchObject({ code: Code.NotFound });
    await operator.createAccountCreationToken({});
  });
});
