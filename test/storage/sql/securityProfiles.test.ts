import { randomBytes, randomUUID } from "node:crypto";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { keyedHash } from "../../../src/crypto/keyedHash.js";
import { createSecretBox } from "../../../src/crypto/secretBox.js";
import type { Actor } from "../../../src/domain/actor.js";
import { KeyTaken, ProfileExists } from "../../../src/domain/profileTokens/profileTokenErrors.js";
import type { Announce, Announcement, SecurityProfileStore } from "../../../src/domain/profileTokens/securityProfile.js";
import { inMemoryDataDir, openDatabase, type Database } from "../../../src/storage/sql/database.js";
import { sqlOutbox } from "../../../src/storage/sql/sqlOutbox.js";
import { sqlSecurityProfiles } from "../../../src/storage/sql/sqlSecurityProfiles.js";
import { dropSchema, testDatabaseUrl, testMigrationContext, uniqueSchema } from "../../support/postgres.js";

const schema = uniqueSchema("security_profiles");
const profileKeyHash = keyedHash(randomBytes(32), "profile-key");
const context = { ...testMigrationContext, profileKeyHash };
const backends: Record<string, () => Promise<Database>> = {
  postgres: () => openDatabase({ kind: "postgres", url: testDatabaseUrl(), schema, poolMax: 20 }, context),
  pglite: () => openDatabase({ kind: "pglite", dataDir: inMemoryDataDir, schema: "public" }, context),
};

afterAll(async () => {
  await dropSchema(schema);
});

/** The SecurityProfileStore contract, on real Postgres and on embedded PGlite alike. */
describe.each(Object.keys(backends))("security profiles on %s", (backend) => {
  let db: Database;
  let store: SecurityProfileStore;
  const box = createSecretBox([{ id: "k1", key: randomBytes(32) }]);
  const actor: Actor = { kind: "user", subject: "u-1", requestId: "req-1" };
  const verified = (value: string, mfaEnabled = false) => ({ value, verified: true, mfaEnabled });

  beforeAll(async () => {
    db = await backends[backend]!();
    store = sqlSecurityProfiles(db, box, profileKeyHash, sqlOutbox(db));
  });
  afterAll(async () => {
    await db?.destroy();
  });
  afterEach(async () => {
    await db("security_profiles").delete();
    await db("audit_events").delete();
    await db("factor_change_reports").delete();
    await db("outbox_messages").delete();
  });

  /** One report token (its hash given) and one notice, as the domain would build them. */
  const announcing = (tokenHash: string, messageId: string = randomUUID()): { announce: Announce; seen: Array<[string | undefined, string | undefined]> } => {
    const seen: Array<[string | undefined, string | undefined]> = [];
    return {
      seen,
      announce: (before, after): Announcement => {
        seen.push([before.email?.value, after.email?.value]);
        return {
          reports: [{ tokenHash, change: "key_changed", ttlMs: 60_000 }],
          messages: [{ id: messageId, kind: "email", sealedPayload: "sealed", maxAttempts: 3, expiresAt: new Date(Date.now() + 60_000) }],
        };
      },
    };
  };

  it("creates a profile, audited, and finds it by user and by key (email case-insensitively) in one read", async () => {
    const created = await store.create({ userId: "u-1", email: verified("Ada@example.com"), antiPhishingCode: "heron" }, actor);
    expect(created).toMatchObject({ userId: "u-1", email: { value: "Ada@example.com", verified: true, mfaEnabled: false }, antiPhishingCode: "heron" });
    expect(await store.lookup({ key: { type: "email", value: "ada@example.com" } })).toMatchObject({ profile: { userId: "u-1" }, keyOwner: "u-1" });
    expect(await store.lookup({ userId: "u-2", key: { type: "email", value: "ADA@example.com" } })).toEqual({ profile: null, keyOwner: "u-1" });
    expect(await store.lookup({ userId: "u-1", key: { type: "phone", value: "+14155550100" } })).toMatchObject({ profile: { userId: "u-1" }, keyOwner: null });
    expect(await db("audit_events").select("action", "subject", "principal_subject", "request_id")).toEqual([
      { action: "profile.created", subject: "u-1", principal_subject: "u-1", request_id: "req-1" },
    ]);
  });

  it("refuses a second profile for a user and a key another profile holds", async () => {
    await store.create({ userId: "u-1", email: verified("ada@example.com") }, actor);
    await expect(store.create({ userId: "u-1", phone: verified("+14155550100") }, actor)).rejects.toBeInstanceOf(ProfileExists);
    await expect(store.create({ userId: "u-2", email: verified("ADA@example.com") }, actor)).rejects.toBeInstanceOf(KeyTaken);
    await store.create({ userId: "u-2", phone: verified("+14155550100") }, actor);
    await expect(store.apply("u-2", { kind: "set_key", type: "email", current: null, requireMfaOff: false, value: "ada@example.com" }, actor)).rejects.toBeInstanceOf(KeyTaken);
  });

  it("applies a change only while its condition holds, and audits only changes that happened", async () => {
    await store.create({ userId: "u-1", email: verified("ada@example.com", true), phone: verified("+14155550100") }, actor);
    // MFA on: a key change needing MFA off does nothing; a recovery replaces the key and turns MFA off.
    expect(await store.apply("u-1", { kind: "set_key", type: "email", current: "ada@example.com", requireMfaOff: true, value: "new@example.com" }, actor)).toBeNull();
    expect(await store.apply("u-1", { kind: "remove_key", type: "email", current: "ada@example.com" }, actor)).toBeNull();
    const recovered = await store.apply("u-1", { kind: "set_key", type: "email", current: "ada@example.com", requireMfaOff: false, value: "new@example.com" }, actor);
    expect(recovered?.email).toEqual({ value: "new@example.com", verified: true, mfaEnabled: false });
    // The old value is no longer the current one.
    expect(await store.apply("u-1", { kind: "set_key", type: "email", current: "ada@example.com", requireMfaOff: false, value: "x@example.com" }, actor)).toBeNull();
    expect(await store.apply("u-1", { kind: "remove_key", type: "phone", current: "+14155550100" }, actor)).toMatchObject({ userId: "u-1" });
    // The last key stays.
    expect(await store.apply("u-1", { kind: "remove_key", type: "email", current: "new@example.com" }, actor)).toBeNull();
    expect(await store.apply("u-1", { kind: "disable_mfa", type: "email" }, actor)).toBeNull();
    expect((await store.apply("u-1", { kind: "enable_mfa", type: "email" }, actor))?.email?.mfaEnabled).toBe(true);
    expect(await store.apply("u-1", { kind: "enable_mfa", type: "phone" }, actor)).toBeNull();
    expect((await store.apply("u-1", { kind: "set_anti_phishing_code", code: "owl" }, actor))?.antiPhishingCode).toBe("owl");
    expect(await store.apply("nobody", { kind: "set_anti_phishing_code", code: "owl" }, actor)).toBeNull();
    const actions = (await db("audit_events").select("action").orderBy("id")).map((row: { action: string }) => row.action);
    expect(actions).toEqual(["profile.created", "profile.key_set", "profile.key_removed", "profile.mfa_enabled", "profile.anti_phishing_code_set"]);
  });

  it("keeps no address or code readable in its rows", async () => {
    await store.create({ userId: "u-1", email: verified("hidden-person@example.com"), phone: verified("+14155550123"), antiPhishingCode: "Secret-Owl" }, actor);
    const dump = JSON.stringify(await db("security_profiles").select("*"));
    expect(dump).not.toMatch(/hidden-person|4155550123|Secret-Owl/);
  });

  it("lets one of two concurrent removals of the last-but-one keys win", async () => {
    await store.create({ userId: "u-1", email: verified("ada@example.com"), phone: verified("+14155550100") }, actor);
    const results = await Promise.all([
      store.apply("u-1", { kind: "remove_key", type: "email", current: "ada@example.com" }, actor),
      store.apply("u-1", { kind: "remove_key", type: "phone", current: "+14155550100" }, actor),
    ]);
    expect(results.filter((result) => result !== null)).toHaveLength(1);
  });

  it("writes a change's report tokens and notices with it, from the profile before and after, and nothing of them when the change does not happen or cannot be written whole", async () => {
    await store.create({ userId: "u-1", email: verified("ada@example.com"), phone: verified("+14155550100") }, actor);
    const change = { kind: "set_key", type: "email", current: "ada@example.com", requireMfaOff: true, value: "new@example.com" } as const;
    const first = announcing("hash-1");
    expect((await store.apply("u-1", change, actor, first.announce))?.email?.value).toBe("new@example.com");
    expect(first.seen).toEqual([["ada@example.com", "new@example.com"]]);
    expect(await db("factor_change_reports").select("user_id", "token_hash", "change")).toEqual([{ user_id: "u-1", token_hash: "hash-1", change: "key_changed" }]);
    expect(Number((await db("outbox_messages").count<{ count: string | number }[]>("* as count"))[0]!.count)).toBe(1);

    // The condition fails: no announcement is asked for, nothing written.
    const stale = announcing("hash-2");
    expect(await store.apply("u-1", change, actor, stale.announce)).toBeNull();
    expect(stale.seen).toEqual([]);

    // A notice that cannot be written (its id taken) takes the change down with it.
    const [queued] = await db("outbox_messages").select("id");
    const broken = announcing("hash-3", (queued as { id: string }).id);
    await expect(store.apply("u-1", { ...change, current: "new@example.com", value: "newer@example.com" }, actor, broken.announce)).rejects.toThrow();
    expect((await store.lookup({ userId: "u-1" })).profile?.email?.value).toBe("new@example.com");
    expect((await db("factor_change_reports").select("token_hash")).map((row: { token_hash: string }) => row.token_hash)).toEqual(["hash-1"]);
    expect((await db("audit_events").select("action")).filter((row: { action: string }) => row.action === "profile.key_set")).toHaveLength(1);
  });

  it("a live report token locks factor changes once (its first report's reason kept), for its own user only; locked, no key or MFA change applies; unlocking is audited", async () => {
    await store.create({ userId: "u-1", email: verified("ada@example.com"), phone: verified("+14155550100", true) }, actor);
    await store.create({ userId: "u-2", email: verified("bob@example.com") }, actor);
    const changed = await store.apply("u-1", { kind: "set_key", type: "email", current: "ada@example.com", requireMfaOff: true, value: "new@example.com" }, actor, announcing("hash-a").announce);
    await store.apply("u-1", { kind: "set_anti_phishing_code", code: "owl" }, actor);
    await db("factor_change_reports").insert({ id: randomUUID(), user_id: "u-1", token_hash: "hash-b", change: "mfa_disabled", changed_at: new Date(), expires_at: new Date(Date.now() + 60_000) });
    await db("factor_change_reports").insert({ id: randomUUID(), user_id: "u-1", token_hash: "hash-old", change: "key_added", changed_at: new Date(), expires_at: new Date(Date.now() - 1_000) });

    expect(await store.lockFactorChanges("hash-a", "u-2", actor)).toBeNull();
    expect(await store.lockFactorChanges("hash-old", undefined, actor)).toBeNull();
    const locked = await store.lockFactorChanges("hash-a", "u-1", actor);
    expect(locked?.factorChangesLock).toEqual({ lockedAt: expect.any(Date), reportedChange: "key_changed", changedAt: changed!.updatedAt });
    expect(await store.lockFactorChanges("hash-a", undefined, actor)).toBeNull();
    // A second report keeps the first one's reason.
    expect((await store.lockFactorChanges("hash-b", undefined, actor))?.factorChangesLock).toEqual(locked?.factorChangesLock);

    expect(await store.apply("u-1", { kind: "set_key", type: "email", current: "new@example.com", requireMfaOff: true, value: "x@example.com" }, actor)).toBeNull();
    expect(await store.apply("u-1", { kind: "remove_key", type: "email", current: "new@example.com" }, actor)).toBeNull();
    expect(await store.apply("u-1", { kind: "disable_mfa", type: "phone" }, actor)).toBeNull();
    expect((await store.apply("u-1", { kind: "enable_mfa", type: "email" }, actor))?.email?.mfaEnabled).toBe(true);
    expect((await store.lookup({ userId: "u-1" })).profile).toMatchObject({ email: { value: "new@example.com" }, phone: { mfaEnabled: true }, factorChangesLock: locked?.factorChangesLock });

    expect((await store.unlockFactorChanges("u-1", actor))?.factorChangesLock).toBeUndefined();
    expect((await store.unlockFactorChanges("u-1", actor))?.userId).toBe("u-1");
    expect(await store.unlockFactorChanges("nobody", actor)).toBeNull();
    expect(await store.apply("u-1", { kind: "disable_mfa", type: "phone" }, actor)).toMatchObject({ phone: { mfaEnabled: false } });
    const actions = (await db("audit_events").select("action", "subject").orderBy("id")).filter((row: { action: string }) => row.action.startsWith("profile.factor_changes_"));
    expect(actions).toEqual([
      { action: "profile.factor_changes_locked", subject: "u-1" },
      { action: "profile.factor_changes_locked", subject: "u-1" },
      { action: "profile.factor_changes_unlocked", subject: "u-1" },
    ]);
  });

  it("recovers a key MFA is on for only while MFA is on for the other key too", async () => {
    await store.create({ userId: "u-1", email: verified("ada@example.com", true), phone: verified("+14155550100") }, actor);
    const recovery = { kind: "set_key", type: "email", current: "ada@example.com", requireMfaOff: false, requireSecondFactor: true, value: "new@example.com" } as const;
    expect(await store.apply("u-1", recovery, actor)).toBeNull();
    await store.apply("u-1", { kind: "enable_mfa", type: "phone" }, actor);
    expect((await store.apply("u-1", recovery, actor))?.email).toEqual({ value: "new@example.com", verified: true, mfaEnabled: false });
  });
});
