import { mkdir } from "node:fs/promises";
import knexFactory, { type Knex } from "knex";
import ClientPgLite from "knex-pglite";
import type { DatabaseConfig } from "../../config/config.js";
import type { Logger } from "../../observability/logger.js";
import { checkKeyFingerprints, durableKeyFingerprints, type KeyFingerprint } from "./keyGuard.js";
import { migrationSource, type Migration, type MigrationContext } from "./migrations/index.js";

export type Database = Knex;

/** PGlite's in-memory data directory, for tests and throwaway runs. */
export const inMemoryDataDir = "memory://";

/**
 * Opens Postgres (or embedded PGlite), brings the schema up to date and checks that the keys in
 * `context` are the ones the durable rows were named with (see keyGuard.ts; a
 * `KeyChangedError` otherwise). Migrations run here, at start, so an instance never serves
 * against a schema older than its code; `context` carries the keys some of them need.
 */
export async function openDatabase(config: DatabaseConfig, context: MigrationContext, logger?: Logger): Promise<Database> {
  const log = logger === undefined ? {} : { log: knexLog(logger) };
  const db = config.kind === "postgres" ? openPostgres(config, log) : await openPglite(config.dataDir, config.schema, log);
  try {
    await migrate(db, config, migrationSource(context), durableKeyFingerprints(context));
    return db;
  } catch (error) {
    await db.destroy();
    throw error;
  }
}

const migrationsTable = "onetime_migrations";

/**
 * Instances starting together serialise on a Postgres advisory lock, held on a connection of its
 * own, rather than on knex's lock row: the row survives a crashed migration and then blocks
 * every later start, while an advisory lock dies with its session. Holding it, any knex lock row
 * found is such a leftover and is cleared. PGlite has one connection and one process: no lock.
 *
 * The key check runs under the same lock: the instance that re-keys rows in a migration records
 * its key before any other instance can record a different one, so of instances started
 * together with different keys, the one whose key named the rows is the one that serves.
 */
async function migrate(db: Database, config: DatabaseConfig, source: Knex.MigrationSource<Migration>, keys: readonly KeyFingerprint[]): Promise<void> {
  const migrateAndCheck = async () => {
    await migrateNow(db, config.schema, source);
    await checkKeyFingerprints(db, keys);
  };
  if (config.kind === "pglite") return migrateAndCheck();
  const lock = ["select pg_advisory_lock(hashtext(?))", "select pg_advisory_unlock(hashtext(?))"] as const;
  const key = `onetime-migrations:${config.schema}`;
  const connection: unknown = await db.client.acquireConnection();
  try {
    await db.raw(lock[0], [key]).connection(connection);
    try {
      await migrateAndCheck();
    } finally {
      await db.raw(lock[1], [key]).connection(connection);
    }
  } finally {
    await db.client.releaseConnection(connection);
  }
}

async function migrateNow(db: Database, schema: string, migrationSource: Knex.MigrationSource<Migration>): Promise<void> {
  // Only create the schema when missing: CREATE SCHEMA IF NOT EXISTS still needs the CREATE
  // privilege, which a least-privilege role on a schema made by a DBA does not have.
  const existing = await db.raw<{ rows: unknown[] }>("select 1 from pg_namespace where nspname = ?", [schema]);
  if (existing.rows.length === 0) await db.raw("create schema ??", [schema]);
  const options = { migrationSource, schemaName: schema, tableName: migrationsTable };
  await db.migrate.forceFreeMigrationsLock(options);
  await db.migrate.latest(options);
}

/**
 * knex's own messages (a pooled connection that died, a deprecation) as log lines: by default it
 * writes them to the console, which breaks the one-JSON-object-per-line log.
 */
function knexLog(logger: Logger): Knex.Config["log"] {
  return {
    warn: (message: unknown) => logger.warn({ detail: String(message) }, "knex"),
    error: (message: unknown) => logger.error({ detail: String(message) }, "knex"),
    deprecate: (method: string, alternative: string) => logger.warn({ method, alternative }, "knex: deprecated"),
    debug: () => undefined,
  };
}

function openPostgres(config: Extract<DatabaseConfig, { kind: "postgres" }>, log: Pick<Knex.Config, "log">): Database {
  return knexFactory({
    ...log,
    client: "pg",
    connection: { connectionString: config.url, connectionTimeoutMillis: 5_000, statement_timeout: 10_000 },
    searchPath: [config.schema],
    pool: { min: 0, max: config.poolMax },
    acquireConnectionTimeout: 5_000,
  });
}

async function openPglite(dataDir: string, schema: string, log: Pick<Knex.Config, "log">): Promise<Database> {
  if (dataDir !== inMemoryDataDir) await mkdir(dataDir, { recursive: true });
  return knexFactory({ ...log, client: ClientPgLite, dialect: "postgres", connection: { filename: dataDir }, searchPath: [schema] });
}
