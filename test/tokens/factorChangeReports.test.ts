import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FactorChange, TokenOperation, UserKeyType } from "../../gen/onetime/v1/token_service_pb.js";
import { failure } from "../support/verificationClient.js";
import { createProfile, freshEmail, freshPhone, startTokenServer, tokenClient, type TokenClient, type TokenServer } from "./tokenTestSupport.js";

/**
 * The wiring of factor-change notices over a real socket, on Postgres and Redis: the notice leaves
 * through the outbox to the console channel with its report token, and ConsumeToken of that token
 * locks the profile's factor changes until UnlockFactorChanges. The rules themselves are tested
 * on the domain harness (test/domain/profileTokens/factorChanges.test.ts).
 */
describe("factor change reports over a socket", () => {
  let server: TokenServer;
  let service: TokenClient;

  beforeAll(async () => {
    server = await startTokenServer("real", "factor_reports");
    service = await tokenClient(server.url, { kind: "service" });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("a key change sends the other key a notice with a report token; consuming it locks factor changes, visible on the profile, until a backend unlocks them", async () => {
    const [email, phone, newEmail] = [freshEmail("factor"), freshPhone(), freshEmail("factor-new")];
    const userId = await createProfile(service, "factor", { email, phone });

    await service.requestKeyChangeToken({ userId, keyType: UserKeyType.EMAIL, locale: "de" });
    await service.requestKeyChangeNewKeyToken({ userId, step1Token: await server.codeSentTo(email), newKey: { key: { case: "email", value: newEmail } }, locale: "de" });
    const changed = await service.consumeToken({ operation: TokenOperation.KEY_CHANGE_NEW_KEY, token: await server.codeSentTo(newEmail), userId });
    expect(changed.profile?.email).toBe(newEmail);

    let notice: string | undefined;
    await expect.poll(() => (notice = server.sentTo(phone).find((message) => /Nicht Sie\?/.test(message.text))?.text), { timeout: 15_000 }).toBeDefined();
    expect(notice).toContain("in f***@example.com geändert");
    const reportToken = /Melden mit Code ([0-9a-z]{24})/.exec(notice!)?.[1];
    expect(reportToken).toBeDefined();

    const reported = await service.consumeToken({ operation: TokenOperation.FACTOR_CHANGE_REPORT, token: reportToken! });
    expect(reported).toMatchObject({ operation: TokenOperation.FACTOR_CHANGE_REPORT, userId });
    const { profile } = await service.getSecurityProfile({ userId });
    expect(profile?.factorChangesLock).toMatchObject({ reportedChange: FactorChange.KEY_CHANGED, changeTime: changed.profile?.updateTime });
    expect(profile?.factorChangesLock?.lockTime).toBeDefined();

    const refused = await failure(service.requestKeyRemovalToken({ userId, keyType: UserKeyType.PHONE_NUMBER }));
    expect(refused).toMatchObject({ code: Code.FailedPrecondition, reason: "FACTOR_CHANGES_LOCKED" });

    const user = await tokenClient(server.url, { kind: "user", userId });
    expect(await failure(user.unlockFactorChanges({ userId }))).toMatchObject({ code: Code.PermissionDenied });
    const admin = await tokenClient(server.url, { kind: "admin" });
    const unlocked = await admin.unlockFactorChanges({ userId });
    expect(unlocked.profile?.factorChangesLock).toBeUndefined();
    await expect(service.requestKeyRemovalToken({ userId, keyType: UserKeyType.PHONE_NUMBER })).resolves.toMatchObject({ token: { destinationType: UserKeyType.PHONE_NUMBER } });
  });
});
