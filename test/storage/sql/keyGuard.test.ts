import { randomBytes } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { keyedHash } from "../../../src/crypto/keyedHash.js";
import { openDatabase, inMemoryDataDir, type Database } from "../../../src/storage/sql/database.js";
import { checkKeyFingerprints, KeyChangedError, keyFingerprint } from "../../../src/storage/sql/keyGuard.js";
import type { MigrationContext } from "../../../src/storage/sql/migrations/index.js";
import { dropSchema, testDatabaseUrl, uniqueSchema } from "../../support/postgres.js";

/** Migrating PGlite databases takes tens of seconds on a loaded 2-core machine; a bound, not a speed check. */
const pgliteMigrationTimeout = 90_000;

const contextFor = (key: Uint8Array): MigrationContext => ({ totpConsumerHash: keyedHash(key, "totp-consumer") });
const schemas: string[] = [];

afterAll(async () => {
  await Promise.all(schemas.map(dropSchema));
});

function postgres(context: MigrationContext, schema: string, poolMax = 2): Promise<Database> {
  return openDatabase({ kind: "postgres", url: testDatabaseUrl(), schema, poolMax }, context);
}

describe("the key guard", () => {
  it("fingerprints a key by a keyed hash under it: stable per key, different across keys, never the key", () => {
    const key = randomBytes(32);
    const fingerprint = keyFingerprint("totp-consumer", keyedHash(key, "totp-consumer"));
    expect(fingerprint).toEqual(keyFingerprint("totp-consumer", keyedHash(Buffer.from(key), "totp-consumer")));
    expect(fingerprint.fingerprint).not.toBe(keyFingerprint("totp-consumer", keyedHash(randomBytes(32), "totp-consumer")).fingerprint);
    expect(fingerprint.fingerprint).not.toContain(key.toString("base64url"));
  });

  it("lets instances starting together on one key all start", async () => {
    const schema = uniqueSchema("key_guard_same");
    schemas.push(schema);
    const context = contextFor(randomBytes(32));
    // A refused start rejects: all three must open.
    const opened = await Promise.all([postgres(context, schema), postgres(context, schema), postgres(context, schema)]);
    expect(opened).toHaveLength(3);
    await Promise.all(opened.map((db) => db.destroy()));
  });

  it("lets exactly one of several instances starting together on different keys start, the one that recorded its key", async () => {
    const schema = uniqueSchema("key_guard_race");
    schemas.push(schema);
    const contexts = [0, 1, 2].map(() => contextFor(randomBytes(32)));
    const outcomes = await Promise.allSettled(contexts.map((context) => postgres(context, schema)));
    const started = outcomes.flatMap((outcome, index) => (outcome.status === "fulfilled" ? [{ db: outcome.value, index }] : []));
    expect(started).toHaveLength(1);
    for (const outcome of outcomes) if (outcome.status === "rejected") expect(outcome.reason).toBeInstanceOf(KeyChangedError);
    const [{ db, index }] = started as [{ db: Database; index: number }];
    try {
      const rows = await db("onetime_keys").select("purpose", "fingerprint");
      expect(rows).toEqual([keyFingerprint("totp-consumer", contexts[index]!.totpConsumerHash)]);
    } finally {
      await db.destroy();
    }
  });

  it("agrees on one fingerprint when the checks themselves race, without the migration lock", async () => {
    const schema = uniqueSchema("key_guard_check");
    schemas.push(schema);
    const setUp = await postgres(contextFor(randomBytes(32)), schema, 8);
    try {
      await setUp("onetime_keys").delete();
      const candidates = Array.from({ length: 8 }, () => keyFingerprint("totp-consumer", keyedHash(randomBytes(32), "totp-consumer")));
      // Each check on a connection of its own, all at once: only the first insert to commit wins.
      const outcomes = await Promise.allSettled(candidates.map((candidate) => checkKeyFingerprints(setUp, [candidate])));
      const winners = outcomes.flatMap((outcome, index) => (outcome.status === "fulfilled" ? [candidates[index]!] : []));
      expect(winners).toHaveLength(1);
      for (const outcome of outcomes) if (outcome.status === "rejected") expect(outcome.reason).toBeInstanceOf(KeyChangedError);
      expect(await setUp("onetime_keys").select("purpose", "fingerprint")).toEqual(winners);
    } finally {
      await setUp.destroy();
    }
  });

  it("records a purpose new to the database only on the right key: a refused start records nothing", async () => {
    const schema = uniqueSchema("key_guard_new_purpose");
    schemas.push(schema);
    const first = contextFor(randomBytes(32));
    const db = await postgres(first, schema);
    try {
      const wrong = randomBytes(32);
      const failure = await checkKeyFingerprints(db, [
        keyFingerprint("totp-consumer", keyedHash(wrong, "totp-consumer")),
        keyFingerprint("profile-key", keyedHash(wrong, "profile-key")),
      ]).catch((error: unknown) => error);
      expect((failure as KeyChangedError).purposes).toEqual(["totp-consumer"]);
      expect(await db("onetime_keys").select("purpose", "fingerprint")).toEqual([keyFingerprint("totp-consumer", first.totpConsumerHash)]);
    } finally {
      await db.destroy();
    }
  });

  it("refuses another key on PGlite too, and leaves the stored fingerprint alone", async () => {
    const first = contextFor(randomBytes(32));
    const db = await openDatabase({ kind: "pglite", dataDir: inMemoryDataDir, schema: "public" }, first);
    try {
      const other = keyFingerprint("totp-consumer", keyedHash(randomBytes(32), "totp-consumer"));
      const failure = await checkKeyFingerprints(db, [other]).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(KeyChangedError);
      expect((failure as KeyChangedError).purposes).toEqual(["totp-consumer"]);
      expect(await db("onetime_keys").select("purpose", "fingerprint")).toEqual([keyFingerprint("totp-consumer", first.totpConsumerHash)]);
      // The same key again is a plain restart.
      await checkKeyFingerprints(db, [keyFingerprint("totp-consumer", first.totpConsumerHash)]);
    } finally {
      await db.destroy();
    }
  }, pgliteMigrationTimeout);
});
