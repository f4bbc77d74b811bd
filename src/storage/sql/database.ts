import { setTimeout as sleep } from "node:timers/promises";
import { mkdir } from "node:fs/promises";
import knexFactory, { type Knex } from "knex";
import ClientPgLite from "knex-pglite";
import type { DatabaseConfig } from "../../config/config.js";
import { migrationSource } from "./migrations/index.js";

export type Database = Knex;

/** PGlite's in-memory data directory, for tests and throwaway runs. */
export const inMemoryDataDir = "memory://";

/**
 * Opens Postgres (or embedded PGlite) and brings the schema up to date. Migrations run here, at
 * start, so an instance never serves against a schema older than its code.
 */
export async function openDatabase(config: DatabaseConfig): Promise<Database> {
  const db = config.kind === "postgres" ? openPostgres(config) : await openPglite(config.dataDir, config.schema);
  try {
    await migrate(db, config.schema);
    return db;
  } catch (error) {
    await db.destroy();
    throw error;
  }
}

// Two instances starting together race on knex's first-run bookkeeping (creating the schema and
// the migrations tables is not atomic), and the loser of knex's migration lock fails at once
// instead of waiting. Both are safe to retry: the second attempt finds the work done or the lock
// free.
const racingErrors = new Set(["42P06", "42P07", "23505"]);
const attempts = 20;

async function migrate(db: Database, schema: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await db.raw("create schema if not exists ??", [schema]);
      await db.migrate.latest({ migrationSource, schemaName: schema, tableName: "onetime_migrations" });
      return;
    } catch (error) {
      if (attempt >= attempts || !lostStartupRace(error)) throw error;
      await sleep(50 + Math.random() * 200);
    }
  }
}

function lostStartupRace(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  return (typeof code === "string" && racingErrors.has(code)) || error.name === "MigrationLocked";
}

function openPostgres(config: Extract<DatabaseConfig, { kind: "postgres" }>): Database {
  return knexFactory({
    client: "pg",
    connection: { connectionString: config.url, connectionTimeoutMillis: 5_000, statement_timeout: 10_000 },
    searchPath: [config.schema],
    pool: { min: 0, max: config.poolMax },
    acquireConnectionTimeout: 5_000,
  });
}

async function openPglite(dataDir: string, schema: string): Promise<Database> {
  if (dataDir !== inMemoryDataDir) await mkdir(dataDir, { recursive: true });
  return knexFactory({ client: ClientPgLite, dialect: "postgres", connection: { filename: dataDir }, searchPath: [schema] });
}
