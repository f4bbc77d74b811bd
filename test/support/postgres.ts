import { randomBytes } from "node:crypto";
import knexFactory from "knex";
import { keyedHash } from "../../src/crypto/keyedHash.js";
import type { MigrationContext } from "../../src/storage/sql/migrations/index.js";
import { createSecretBox } from "../../src/crypto/secretBox.js";
import type { StoreKeys } from "../../src/storage/stores.js";

/** The Postgres the tests use: DATABASE_URL, or the local one this project's CI starts. */
export function testDatabaseUrl(): string {
  return process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
}

/** A schema of its own per test file, so files run in parallel on one database. */
export function uniqueSchema(label: string): string {
  return `test_${label.replace(/[^a-z0-9_]/g, "_")}_${randomBytes(5).toString("hex")}`;
}

/** Drops a test schema and everything in it. */
export async function dropSchema(schema: string): Promise<void> {
  const db = knexFactory({ client: "pg", connection: testDatabaseUrl(), pool: { min: 0, max: 1 } });
  try {
    await db.raw("drop schema if exists ?? cascade", [schema]);
  } finally {
    await db.destroy();
  }
}

/** Keys for the migrations and SQL stores: a random server key per test file, as app.ts derives them. */
export const testMigrationContext: MigrationContext = { totpConsumerHash: keyedHash(randomBytes(32), "totp-consumer") };

/** Keys for `openStores`: the migration keys above, with the rest of a random server key's. */
export const testStoreKeys: StoreKeys = {
  ...testMigrationContext,
  profileKeyHash: keyedHash(randomBytes(32), "profile-key"),
  auditAddressHash: keyedHash(randomBytes(32), "audit-address", 16),
  box: createSecretBox([{ id: "test", key: randomBytes(32) }]),
};
