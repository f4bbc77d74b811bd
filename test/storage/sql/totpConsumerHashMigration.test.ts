import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import knexFactory, { type Knex } from "knex";
import ClientPgLite from "knex-pglite";
import { afterEach, describe, expect, it } from "vitest";
import type { DatabaseConfig } from "../../../src/config/config.js";
import type { KeyedHash } from "../../../src/crypto/keyedHash.js";
import { openDatabase } from "../../../src/storage/sql/database.js";
import { migrationSource, type Migration } from "../../../src/storage/sql/migrations/index.js";
import { sqlTotpSecrets } from "../../../src/storage/sql/sqlTotpSecrets.js";
import { capturingLogger } from "../../support/capturingLogger.js";
import { dropSchema, testDatabaseUrl, testMigrationContext, uniqueSchema } from "../../support/postgres.js";

/** Migrating PGlite databases takes tens of seconds on a loaded 2-core machine; a bound, not a speed check. */
const pgliteMigrationTimeout = 90_000;

/** A database as 0003 left it, reopened later by a server whose code has 0004. */
interface Backend {
  readonly config: DatabaseConfig;
  /** A plain knex on the same database, for what the server would not do. */
  connect(): Promise<Knex>;
  cleanUp(): Promise<void>;
}

const backends: Record<string, () => Promise<Backend>> = {
  async postgres() {
    const schema = uniqueSchema("totp_rekey");
    return {
      config: { kind: "postgres", url: testDatabaseUrl(), schema, poolMax: 2 },
      async connect() {
        const db = knexFactory({ client: "pg", connection: testDatabaseUrl(), searchPath: [schema], pool: { min: 0, max: 2 } });
        await db.raw("create schema if not exists ??", [schema]);
        return db;
      },
      cleanUp: () => dropSchema(schema),
    };
  },
  async pglite() {
    // On disk rather than in memory: the data has to outlive the first connection.
    const dataDir = await mkdtemp(join(tmpdir(), "onetime-totp-rekey-"));
    return {
      config: { kind: "pglite", dataDir, schema: "public" },
      connect: async () => knexFactory({ client: ClientPgLite, dialect: "postgres", connection: { filename: dataDir }, searchPath: ["public"] }),
      cleanUp: () => rm(dataDir, { recursive: true, force: true }),
    };
  },
};

const migrationsTable = "onetime_migrations";
const step = 58_000_000;

/** Brings a fresh database to 0003 with the real migrations, as a server of that release did. */
async function migrateTo0003(db: Knex, config: DatabaseConfig): Promise<void> {
  const source = migrationSource(testMigrationContext);
  const upTo0003: Knex.MigrationSource<Migration> = {
    ...source,
    getMigrations: async (loadExtensions) => (await source.getMigrations(loadExtensions)).slice(0, 3),
  };
  await db.migrate.latest({ migrationSource: upTo0003, schemaName: config.schema, tableName: migrationsTable });
}

interface LegacyRow {
  consumer: string;
  sealed_secret: string;
  key_id: string;
  status: "pending" | "active";
  last_used_step: number | null;
}

/** More rows than one re-keying batch, active and pending, in 0003's shape (plain consumers). */
function legacyRows(count: number): LegacyRow[] {
  return Array.from({ length: count }, (_, index) => ({
    consumer: index % 3 === 0 ? `+49151${String(index).padStart(7, "0")}` : `user-${index}@example.com`,
    sealed_secret: `sealed-${index}`,
    key_id: index % 2 === 0 ? "k1" : "k2",
    status: index % 4 === 0 ? "pending" : "active",
    last_used_step: index % 4 === 0 ? null : step + index,
  }));
}

/** A database as the release with 0003 left it, holding `rows`. */
async function seedLegacy(backend: Backend, rows: readonly LegacyRow[]): Promise<void> {
  const legacy = await backend.connect();
  try {
    await migrateTo0003(legacy, backend.config);
    await insertLegacy(legacy, rows);
  } finally {
    await legacy.destroy();
  }
}

async function insertLegacy(db: Knex, rows: readonly LegacyRow[]): Promise<void> {
  await db.batchInsert("totp_secrets", rows.map((row) => ({ ...row, activated_at: row.status === "active" ? db.fn.now() : null })), 500);
}

describe.each(Object.keys(backends))("migration 0004 on %s", (name) => {
  let backend: Backend;
  afterEach(async () => {
    await backend?.cleanUp();
  });

  it("re-keys every 0003 row to its consumer's hash, so the new store finds each with the same consumer", async () => {
    backend = await backends[name]!();
    const rows = legacyRows(2_345);
    await seedLegacy(backend, rows);

    const db = await openDatabase(backend.config, testMigrationContext);
    try {
      const store = sqlTotpSecrets(db, testMigrationContext.totpConsumerHash);
      const stored = await db("totp_secrets").select<{ consumer_hash: string; sealed_secret: string; last_used_step: string | null }[]>(
        "consumer_hash",
        "sealed_secret",
        "last_used_step",
      );
      const expected = rows.map((row) => ({
        consumer_hash: testMigrationContext.totpConsumerHash(row.consumer),
        sealed_secret: row.sealed_secret,
        last_used_step: row.last_used_step === null ? null : String(row.last_used_step),
      }));
      const byHash = (a: { consumer_hash: string }, b: { consumer_hash: string }) => a.consumer_hash.localeCompare(b.consumer_hash);
      expect(stored.map((row) => ({ ...row, last_used_step: row.last_used_step === null ? null : String(row.last_used_step) })).sort(byHash)).toEqual(
        expected.sort(byHash),
      );
      // And through the store, for a sample spanning every batch.
      for (const row of rows.filter((_, index) => index % 47 === 0)) {
        expect(await store.find(row.consumer)).toEqual({
          sealedSecret: row.sealed_secret,
          keyId: row.key_id,
          status: row.status,
          lastUsedStep: row.last_used_step,
        });
      }
      // The last used step came along: an old code still fails, a newer one works.
      const active = rows[1]!;
      const actor = { kind: "service", subject: "billing" } as const;
      expect(await store.markUsed(active.consumer, active.last_used_step!, actor)).toBe(false);
      expect(await store.markUsed(active.consumer, active.last_used_step! + 1, actor)).toBe(true);

      const columns = await db("totp_secrets").columnInfo();
      expect(Object.keys(columns).sort()).toEqual(
        ["activated_at", "consumer_hash", "created_at", "key_id", "last_used_step", "sealed_secret", "status", "updated_at"].sort(),
      );
      const dump = await db.raw<{ rows: { row: string }[] }>("select t::text as row from totp_secrets t");
      expect(dump.rows.some((each) => each.row.includes("@example.com") || each.row.includes("+49151"))).toBe(false);
    } finally {
      await db.destroy();
    }
  }, pgliteMigrationTimeout);

  it("leaves 0003's table as it was when re-keying fails part way", async () => {
    backend = await backends[name]!();
    const rows = legacyRows(1_500);
    await seedLegacy(backend, rows);

    let hashed = 0;
    const failing: KeyedHash = (value) => {
      // Past the first batch, so some rows were already re-keyed when it fails.
      if (++hashed > 1_200) throw new Error("hash failed");
      return testMigrationContext.totpConsumerHash(value);
    };
    // knex's report of the failed migration goes to the service's log (here captured), not to the console.
    const { logger, records } = capturingLogger("warn");
    await expect(openDatabase(backend.config, { totpConsumerHash: failing }, logger)).rejects.toThrow("hash failed");
    expect(records.some((record) => record.msg === "knex" && String(record.detail).includes("hash failed"))).toBe(true);

    const after = await backend.connect();
    try {
      expect(Object.keys(await after("totp_secrets").columnInfo())).toContain("consumer");
      expect(Object.keys(await after("totp_secrets").columnInfo())).not.toContain("consumer_hash");
      const stored = await after("totp_secrets").select<{ consumer: string }[]>("consumer");
      expect(stored.map((row) => row.consumer).sort()).toEqual(rows.map((row) => row.consumer).sort());
      const applied = await after(migrationsTable).select("name");
      expect(applied.map((row: { name: string }) => row.name)).toEqual(["0001_audit_events", "0002_outbox_messages", "0003_totp_secrets"]);
    } finally {
      await after.destroy();
    }
  }, pgliteMigrationTimeout);
});
