import { afterAll, describe, expect, it } from "vitest";
import { openDatabase, inMemoryDataDir, type Database } from "../../../src/storage/sql/database.js";
import { migrationSource } from "../../../src/storage/sql/migrations/index.js";
import { capturingLogger } from "../../support/capturingLogger.js";
import { dropSchema, testDatabaseUrl, testMigrationContext, uniqueSchema } from "../../support/postgres.js";

const schema = uniqueSchema("migrations");

const databases: Record<string, () => Promise<Database>> = {
  postgres: () => openDatabase({ kind: "postgres", url: testDatabaseUrl(), schema, poolMax: 2 }, testMigrationContext),
  pglite: () => openDatabase({ kind: "pglite", dataDir: inMemoryDataDir, schema: "onetime" }, testMigrationContext),
};

afterAll(async () => {
  await dropSchema(schema);
});

describe.each(Object.keys(databases))("migrations on %s", (name) => {
  it("create the schema at start, apply once, and are idempotent on a second start", async () => {
    const db = await databases[name]!();
    try {
      const applied = await db("onetime_migrations").select("name");
      expect(applied.map((row: { name: string }) => row.name)).toEqual(["0001_audit_events", "0002_outbox_messages", "0003_totp_secrets", "0004_totp_consumer_hash", "0005_onetime_keys", "0006_security_profiles", "0007_account_tokens", "0008_retention", "0009_factor_change_reports"]);

      // A second start (another instance, a restart) finds nothing to do.
      const [, pending] = (await db.migrate.list({
        migrationSource: (await import("../../../src/storage/sql/migrations/index.js")).migrationSource(testMigrationContext),
        tableName: "onetime_migrations",
      })) as [unknown[], unknown[]];
      expect(pending).toEqual([]);

      await db("audit_events").insert({
        principal_kind: "service",
        principal_subject: "billing",
        action: "verification.validate",
        subject: "user-1",
        outcome: "ok",
        details: JSON.stringify({ attempts: 1 }),
      });
      const [row] = await db("audit_events").select("principal_kind", "action", "outcome", "details");
      expect(row).toMatchObject({ principal_kind: "service", action: "verification.validate", outcome: "ok" });
      expect(row.details).toEqual({ attempts: 1 });
    } finally {
      await db.destroy();
    }
  });
});

describe("postgres migrations", () => {
  it("lock so that two instances starting together apply them once", async () => {
    const racing = uniqueSchema("migration_race");
    try {
      const open = () => openDatabase({ kind: "postgres", url: testDatabaseUrl(), schema: racing, poolMax: 2 }, testMigrationContext);
      const [first, second] = await Promise.all([open(), open()]);
      const applied = await first("onetime_migrations").count<{ count: string }[]>("* as count");
      // Every migration there is, once (counted from the source, so a new migration needs no edit here).
      const all = await migrationSource(testMigrationContext).getMigrations([]);
      expect(Number(applied[0]?.count)).toBe(all.length);
      await Promise.all([first.destroy(), second.destroy()]);
    } finally {
      await dropSchema(racing);
    }
  });

  it("fails the start with a clear error when Postgres is unreachable", async () => {
    // knex's own complaint goes to the service's log (here captured), not to the console.
    const { logger, records } = capturingLogger("warn");
    await expect(
      openDatabase({ kind: "postgres", url: "postgres://postgres@127.0.0.1:1/test", schema: "public", poolMax: 1 }, testMigrationContext, logger),
    ).rejects.toThrow(/ECONNREFUSED|connect/);
    expect(records.some((record) => record.msg === "knex" && String(record.detail).includes("ECONNREFUSED"))).toBe(true);
  });
});
