import { randomUUID } from "node:crypto";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TokenOperation, UserKeyType } from "../../gen/onetime/v1/token_service_pb.js";
import { accountTokenClient, user } from "../support/accountTokenClient.js";
import { backends } from "../support/server.js";
import { failure } from "../support/verificationClient.js";
import { freshEmail, startTokenServer, tokenClient, type TokenServer } from "./tokenTestSupport.js";

const none = { securityProfiles: 0, pendingTokens: 0, accountTokens: 0, totpSecrets: 0, auditEvents: 0, factorChangeReports: 0 };

/** TokenService.EraseUser end to end: Postgres and Redis, and PGlite with the in-process store. */
describe.each(backends)("EraseUser (%s backends)", (backend) => {
  let server: TokenServer;

  beforeAll(async () => {
    server = await startTokenServer(backend, "erase_user");
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("erases the profile, the OTTs waiting, the account's tokens, the TOTP secret and the personal fields of the audit trail; again, zeros", async () => {
    const userId = `erase-${randomUUID().slice(0, 8)}`;
    const bystander = `keep-${randomUUID().slice(0, 8)}`;
    const email = freshEmail("erase");
    const service = await tokenClient(server.url, { kind: "service" });
    await service.createSecurityProfile({ userId, email: { value: email, verified: true } });
    await service.createSecurityProfile({ userId: bystander, email: { value: freshEmail("keep"), verified: true } });
    // Two OTTs wait for the user: a password change, and step 1 of a key change (named by key type).
    await service.requestPasswordChangeToken({ userId });
    const passwordCode = await server.codeSentTo(email);
    await service.requestKeyChangeToken({ userId, keyType: UserKeyType.EMAIL });
    // The user acts on its own profile (audited with the user as principal) and pairs a device.
    await (await tokenClient(server.url, { kind: "user", userId })).enableMfa({ keyType: UserKeyType.EMAIL });
    const { authToken } = await (await accountTokenClient(server.url)).createAuthToken({});
    await (await accountTokenClient(server.url, user(userId))).attachAuthToken({ authToken: authToken!.token });
    // A TOTP secret enrolled with the user id as its consumer.
    const { app } = server.server;
    await app.stores.totpSecrets.enrol(userId, "sealed", "k1");
    const db = app.stores.db;
    const [token] = await db("account_tokens").where({ account_id: userId }).select<{ id: string }[]>("id");
    // A "this wasn't me" report token sent to the user's keys, and one of the bystander's.
    const report = (owner: string) => ({
      id: randomUUID(),
      user_id: owner,
      token_hash: randomUUID().replaceAll("-", ""),
      change: "key_added",
      changed_at: new Date(),
      expires_at: new Date(Date.now() + 86_400_000),
    });
    await db("factor_change_reports").insert([report(userId), report(bystander)]);

    const admin = await tokenClient(server.url, { kind: "admin" });
    // profile.created, profile.mfa_enabled, account_token.created (public, about the token), account_token.attached.
    expect(await admin.eraseUser({ userId })).toMatchObject({ securityProfiles: 1, pendingTokens: 2, accountTokens: 1, totpSecrets: 1, auditEvents: 4, factorChangeReports: 1 });

    expect(await failure(service.getSecurityProfile({ userId }))).toMatchObject({ code: Code.NotFound, reason: "PROFILE_NOT_FOUND" });
    expect(await failure(service.consumeToken({ operation: TokenOperation.PASSWORD_CHANGE, userId, token: passwordCode }))).toMatchObject({
      code: Code.NotFound,
      reason: "TOKEN_NOT_FOUND",
    });
    expect(await app.stores.totpSecrets.find(userId)).toBeNull();
    expect((await db("factor_change_reports").select("user_id")).map((row: { user_id: string }) => row.user_id).filter((owner: string) => owner === userId || owner === bystander)).toEqual([bystander]);
    // Nothing in the audit trail names the user, their token or where they called from; the rows stay.
    const trail = await db("audit_events").select("*");
    expect(JSON.stringify(trail)).not.toContain(userId);
    expect(JSON.stringify(trail)).not.toContain(token!.id);
    const cleared = trail.filter((row: { action: string; subject: string | null }) => row.action !== "user.erased" && row.subject === null);
    expect(cleared).toHaveLength(4);
    expect(cleared.every((row: { client_address: string | null }) => row.client_address === null)).toBe(true);
    // The erasure is audited, naming nobody: who asked, and how much went.
    expect(trail.filter((row: { action: string }) => row.action === "user.erased")).toMatchObject([
      { principal_kind: "admin", principal_subject: "admin-backend", subject: null, details: { security_profiles: 1, account_tokens: 1, totp_secrets: 1, audit_events: 4, factor_change_reports: 1 } },
    ]);

    expect(await admin.eraseUser({ userId })).toMatchObject(none);
    expect(await admin.eraseUser({ userId: `never-${randomUUID()}` })).toMatchObject(none);
    // Nobody else's records were touched.
    expect((await service.getSecurityProfile({ userId: bystander })).profile?.userId).toBe(bystander);
    expect(Number((await db("audit_events").where({ subject: bystander }).count<{ n: string }[]>("* as n"))[0]!.n)).toBe(1);
  });

  it("answers only admins; a missing user id names the field", async () => {
    const userId = `erase-${randomUUID().slice(0, 8)}`;
    const service = await tokenClient(server.url, { kind: "service" });
    await service.createSecurityProfile({ userId, email: { value: freshEmail("own"), verified: true } });
    expect(await failure(service.eraseUser({ userId }))).toMatchObject({ code: Code.PermissionDenied });
    expect(await failure((await tokenClient(server.url, { kind: "user", userId })).eraseUser({ userId }))).toMatchObject({ code: Code.PermissionDenied });
    expect(await failure((await tokenClient(server.url, { kind: "public" })).eraseUser({ userId }))).toMatchObject({ code: Code.Unauthenticated });
    expect(await failure((await tokenClient(server.url, { kind: "admin" })).eraseUser({ userId: "" }))).toMatchObject({ code: Code.InvalidArgument, fields: ["user_id"] });
    expect((await service.getSecurityProfile({ userId })).profile?.userId).toBe(userId);
  });
});
