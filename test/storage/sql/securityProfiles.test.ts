import { randomBytes } from "node:crypto";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { keyedHash } from "../../../src/crypto/keyedHash.js";
import { createSecretBox } from "../../../src/crypto/secretBox.js";
import type { Actor } from "../../../src/domain/actor.js";
import { KeyTaken, ProfileExists } from "../../../src/domain/profileTokens/profileTokenErrors.js";
import type { SecurityProfileStore } from "../../../src/domain/profileTokens/securityProfile.js";
import { inMemoryDataDir, openDatabase, type Database } from "../../../src/storage/sql/database.js";
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
    store = sqlSecurityProfiles(db, box, profileKeyHash);
  });
  afterAll(async () => {
    await db?.destroy();
  });
  afterEach(async () => {
    await db("security_profiles").delete();
    await db("audit_events").delete();
  });

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
});
