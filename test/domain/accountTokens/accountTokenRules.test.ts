import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTemplateRenderer } from "../../../src/channels/templates/index.js";
import { keyedHash } from "../../../src/crypto/keyedHash.js";
import { AccountTokens } from "../../../src/domain/accountTokens/accountTokens.js";
import type { AuthTokenView } from "../../../src/domain/accountTokens/accountTokenStore.js";
import type { Actor } from "../../../src/domain/actor.js";
import { ClientLimits } from "../../../src/domain/clientLimits.js";
import { createLogger } from "../../../src/observability/logger.js";
import { MemoryAuthTokenSignals } from "../../../src/storage/memory/memoryAuthTokenSignals.js";
import { MemorySendLimits } from "../../../src/storage/memory/memorySendLimits.js";
import { domainHarness, TestClock, type AccountTokenHarness } from "../../support/domainHarness.js";

const admin: Actor = { kind: "admin", subject: "operator" };
const device: Actor = { kind: "public", clientAddress: "198.51.100.7", clientNetwork: "198.51.100.7" };
const user = (subject: string): Actor & { subject: string } => ({ kind: "user", subject, clientAddress: "198.51.100.7", clientNetwork: "198.51.100.7" });

/** What a call was refused with, as a caller tells answers apart. */
async function refusal(call: Promise<unknown>): Promise<{ kind: string; reason: string; message: string }> {
  const error = (await call.then(
    () => {
      throw new Error("the call succeeded but was expected to fail");
    },
    (caught: unknown) => caught,
  )) as { kind: string; reason: string; message: string };
  return { kind: error.kind, reason: error.reason, message: error.message };
}

/**
 * AccountTokenService's rules on the domain harness (account tokens over embedded PGlite, in-process
 * signals): one answer for every token that does not work, a watch that needs no signal, and the
 * per-client limit on the test's clock. The end-to-end suites (test/accounts/) keep the wire,
 * the stores on Postgres and Redis, and pushes through the APNs and FCM stand-ins.
 */
describe("account token rules (domain)", () => {
  let h: AccountTokenHarness;
  beforeAll(async () => {
    h = await (await domainHarness()).accountTokens();
  });
  afterAll(async () => {
    await h?.close();
  });

  /** The id of the newest token, as an operator finds it (never by its value). */
  const newestId = async () => (await h.db("account_tokens").orderBy("created_at", "desc").first<{ id: string }>("id"))!.id;

  it("unknown, used, revoked and expired creation tokens get one answer", async () => {
    const notFound = await refusal(h.tokens.creation.consume("A".repeat(43), user("account-alice")));
    expect(notFound).toMatchObject({ kind: "not_found", reason: "ACCOUNT_TOKEN_NOT_FOUND" });

    const used = await h.tokens.creation.create(admin);
    await h.tokens.creation.consume(used.token, user("account-alice"));
    expect(await refusal(h.tokens.creation.consume(used.token, user("account-bob")))).toEqual(notFound);

    const revoked = await h.tokens.creation.create(admin);
    await h.tokens.admin.revoke(await newestId(), admin);
    expect(await refusal(h.tokens.creation.consume(revoked.token, user("account-alice")))).toEqual(notFound);

    // Expired: moved past its time in the database, whose clock decides.
    const late = await h.tokens.creation.create(admin);
    await h.db("account_tokens").where({ id: await newestId() }).update({ expires_at: h.db.raw("now() - interval '1 second'") });
    expect(await refusal(h.tokens.creation.consume(late.token, user("account-alice")))).toEqual(notFound);
  });

  it("a watch of a token already attached yields ATTACHED, its only view, and ends though no signal comes", async () => {
    const pairing = await h.tokens.auth.create(device);
    await h.tokens.auth.attach(pairing.token, user("account-dan"));
    // Nothing will notify this token again, and nothing aborts the watch: it ends on what it read.
    const views: AuthTokenView[] = [];
    for await (const view of h.tokens.auth.watch(pairing.deviceSecret, device, new AbortController().signal)) views.push(view);
    expect(views.map((view) => view.state)).toEqual(["attached"]);
  });

  it("an attached token is redeemed once, for its account", async () => {
    const pairing = await h.tokens.auth.create(device);
    expect(await h.tokens.auth.redeem(pairing.deviceSecret, device)).toEqual({ state: "pending" });
    await h.tokens.auth.attach(pairing.token, user("account-eve"));
    expect(await refusal(h.tokens.auth.attach(pairing.token, user("account-mallory")))).toMatchObject({ reason: "ACCOUNT_TOKEN_NOT_FOUND" });
    expect(await h.tokens.auth.redeem(pairing.deviceSecret, device)).toEqual({ state: "redeemed", accountId: "account-eve" });
    expect(await refusal(h.tokens.auth.redeem(pairing.deviceSecret, device))).toMatchObject({ reason: "ACCOUNT_TOKEN_NOT_FOUND" });
  });

  describe("the per-client limit", () => {
    const limit = 3;
    const windowMs = 60_000;
    const clock = new TestClock();
    let tokens: AccountTokens;
    beforeAll(async () => {
      const serverKey = new Uint8Array(32).fill(5);
      tokens = new AccountTokens({
        store: h.store,
        clientLimits: new ClientLimits(new MemorySendLimits({ now: clock.now }), keyedHash(serverKey, "client-limit", 16), "account-tokens", { count: limit, windowMs }),
        tokenHash: keyedHash(serverKey, "account-token"),
        deviceHash: keyedHash(serverKey, "push-device"),
        delivery: { sendNow: () => Promise.reject(new Error("no push here")) },
        templates: await createTemplateRenderer({ productName: "onetime", fallbackLocale: "en" }),
        signals: new MemoryAuthTokenSignals(),
        rules: { ttlMs: { account_creation_request: 600_000, account_creation: 600_000, account_recovery: 600_000, auth: 600_000 }, device: { count: 3, windowMs: 86_400_000 }, pushTimeoutMs: 5_000 },
        logger: createLogger("silent"),
      });
    });

    it("limits a public caller's calls of every kind together, until a window has passed since its first", async () => {
      const caller: Actor = { kind: "public", clientAddress: "203.0.113.5", clientNetwork: "203.0.113.5" };
      await tokens.auth.create(caller);
      await tokens.creation.createRequestToken(caller);
      await expect(tokens.auth.redeem("x".repeat(43), caller)).rejects.toMatchObject({ reason: "ACCOUNT_TOKEN_NOT_FOUND" });
      for (const call of [tokens.auth.create(caller), tokens.creation.createRequestToken(caller), tokens.auth.redeem("x".repeat(43), caller)]) {
        expect(await refusal(call)).toMatchObject({ kind: "resource_exhausted", reason: "CLIENT_LIMIT_REACHED" });
      }
      // Another network has its own count.
      await tokens.auth.create({ kind: "public", clientAddress: "203.0.113.6", clientNetwork: "203.0.113.6" });
      clock.advance(windowMs - 1);
      expect(await refusal(tokens.auth.create(caller))).toMatchObject({ reason: "CLIENT_LIMIT_REACHED" });
      clock.advance(1);
      await tokens.auth.create(caller);
    });

    it("counts a user by its id, not its address; never an admin", async () => {
      const [ivy, jo] = [user("account-ivy"), user("account-jo")];
      for (let i = 0; i < limit; i++) expect(await refusal(tokens.auth.attach("x".repeat(43), ivy))).toMatchObject({ reason: "ACCOUNT_TOKEN_NOT_FOUND" });
      expect(await refusal(tokens.auth.attach("x".repeat(43), ivy))).toMatchObject({ reason: "CLIENT_LIMIT_REACHED" });
      // Same address, another user: its own count.
      expect(await refusal(tokens.auth.attach("x".repeat(43), jo))).toMatchObject({ reason: "ACCOUNT_TOKEN_NOT_FOUND" });
      for (let i = 0; i < limit + 1; i++) await tokens.creation.create(admin);
    });
  });
});
