import { randomBytes, randomUUID } from "node:crypto";
import { Registry } from "prom-client";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { keyedHash } from "../../../src/crypto/keyedHash.js";
import type { Actor } from "../../../src/domain/actor.js";
import { createLogger } from "../../../src/observability/logger.js";
import { retentionMetrics } from "../../../src/observability/retentionMetrics.js";
import { RetentionPurge, type RetentionRules } from "../../../src/retention/retentionPurge.js";
import type { RetentionStore } from "../../../src/retention/retentionStore.js";
import { inMemoryDataDir, openDatabase, type Database } from "../../../src/storage/sql/database.js";
import { sqlAccountTokens } from "../../../src/storage/sql/sqlAccountTokens.js";
import { sqlRetention } from "../../../src/storage/sql/sqlRetention.js";
import { sampleValue } from "../../support/metricsText.js";
import { dropSchema, testDatabaseUrl, testMigrationContext, uniqueSchema } from "../../support/postgres.js";

const schema = uniqueSchema("retention");
const hour = 3_600_000;
const day = 24 * hour;
const rules: RetentionRules = {
  intervalMs: 60_000,
  batchSize: 1_000,
  maxBatches: 10,
  auditEventsMs: 365 * day,
  auditAddressesMs: 7 * day,
  accountTokensMs: 7 * day,
  outboxMessagesMs: 7 * day,
  pendingTotpSecretsMs: day + hour,
  factorChangeReportsMs: 7 * day,
};
const addressHash = keyedHash(randomBytes(32), "audit-address", 16);
const backends: Record<string, { open(): Promise<Database>; schema: string }> = {
  postgres: { open: () => openDatabase({ kind: "postgres", url: testDatabaseUrl(), schema, poolMax: 5 }, testMigrationContext), schema },
  pglite: { open: () => openDatabase({ kind: "pglite", dataDir: inMemoryDataDir, schema: "public" }, testMigrationContext), schema: "public" },
};

afterAll(async () => {
  await dropSchema(schema);
});

/** The retention contract, on real Postgres and on embedded PGlite alike; "now" is always given, never waited for. */
describe.each(Object.keys(backends))("retention purge on %s", (backend) => {
  let db: Database;
  let registry: Registry;
  let purge: RetentionPurge;
  const open = (overrides: Partial<RetentionRules> = {}) => {
    registry = new Registry();
    purge = new RetentionPurge(sqlRetention(db, { schema: backends[backend]!.schema, addressHash }), { ...rules, ...overrides }, retentionMetrics(registry), createLogger("silent"));
    return purge;
  };
  const rowsPurged = async (table: string, action: string) => sampleValue(await registry.metrics(), "onetime_retention_rows_total", `table="${table}",action="${action}"`);
  const count = async (table: string, where: Record<string, unknown> = {}) => Number((await db(table).where(where).count<{ n: string }[]>("* as n"))[0]!.n);
  /** An audit row that occurred `ageMs` ago by the database's clock. */
  const auditRow = (ageMs: number, clientAddress: string | null = "203.0.113.7") =>
    db("audit_events").insert({
      occurred_at: db.raw("now() - ? * interval '1 millisecond'", [ageMs]),
      principal_kind: "public",
      action: "account_token.created",
      subject: randomUUID(),
      outcome: "ok",
      client_address: clientAddress,
    });

  beforeAll(async () => {
    db = await backends[backend]!.open();
  });
  afterAll(async () => {
    await db?.destroy();
  });
  afterEach(async () => {
    for (const table of ["audit_events", "account_tokens", "outbox_messages", "totp_secrets", "factor_change_reports"]) await db(table).delete();
  });

  it("30 anonymous auth tokens and their audit rows age out: tokens after expiry and grace, addresses hashed after a week, audit rows after a year", async () => {
    const tokens = sqlAccountTokens(db);
    const publicCaller: Actor = { kind: "public", requestId: "req-public", clientAddress: "198.51.100.23" };
    for (let i = 0; i < 30; i++) await tokens.create({ kind: "auth", tokenHash: randomBytes(32).toString("base64url"), ttlMs: 10 * 60_000 }, publicCaller);
    expect(await count("account_tokens")).toBe(30);
    expect(await count("audit_events", { client_address: "198.51.100.23" })).toBe(30);
    open();

    // Within the grace period and the address retention: nothing changes.
    expect((await purge.runOnce(Date.now() + day))?.rows).toMatchObject({ account_tokens: 0, audit_addresses: 0, audit_events: 0 });
    expect(await count("account_tokens")).toBe(30);

    // A week and a day on: the expired tokens are gone, the audit rows stay with their address hashed.
    expect((await purge.runOnce(Date.now() + 8 * day))?.rows).toMatchObject({ account_tokens: 30, audit_addresses: 30, audit_events: 0 });
    expect(await count("account_tokens")).toBe(0);
    expect(await count("audit_events", { client_address: "198.51.100.23" })).toBe(0);
    expect(await count("audit_events", { client_address_hash: addressHash("198.51.100.23") })).toBe(30);
    expect(await rowsPurged("account_tokens", "deleted")).toBe(30);
    expect(await rowsPurged("audit_events", "address_hashed")).toBe(30);

    // A year on: the audit rows go too.
    expect((await purge.runOnce(Date.now() + 366 * day))?.rows).toMatchObject({ audit_events: 30 });
    expect(await count("audit_events")).toBe(0);
    expect(await rowsPurged("audit_events", "deleted")).toBe(30);
    const metrics = await registry.metrics();
    expect(sampleValue(metrics, "onetime_retention_rounds_total", 'outcome="purged"')).toBe(3);
    expect(Number(/^onetime_retention_last_success_timestamp_seconds (\S+)$/m.exec(metrics)?.[1])).toBeGreaterThan(0);
  });

  it("keeps an account token through the grace period whatever its state, then deletes it used, revoked or unused alike", async () => {
    const tokens = sqlAccountTokens(db);
    const service: Actor = { kind: "admin", subject: "ops" };
    const used = await tokens.create({ kind: "account_creation", tokenHash: "used-hash", ttlMs: hour }, service);
    await tokens.use("account_creation", "used-hash", "account-1", service);
    const revoked = await tokens.create({ kind: "account_creation", tokenHash: "revoked-hash", ttlMs: hour }, service);
    await tokens.revoke(revoked.id, service);
    await tokens.create({ kind: "account_creation", tokenHash: "live-hash", ttlMs: 30 * day }, service);
    open();
    expect((await purge.runOnce(Date.now() + 7 * day))?.rows.account_tokens).toBe(0);
    expect((await purge.runOnce(Date.now() + 7 * day + 2 * hour))?.rows.account_tokens).toBe(2);
    expect((await db("account_tokens").select("token_hash")).map((row: { token_hash: string }) => row.token_hash)).toEqual(["live-hash"]);
    expect(used.id).not.toBe(revoked.id);
  });

  it("deletes finished outbox messages after the outbox retention, never one still to send", async () => {
    const message = (status: string, finishedAgoMs: number | null) => ({
      id: randomUUID(),
      kind: "email",
      status,
      max_attempts: 3,
      expires_at: db.raw("now() - interval '30 days'"),
      finished_at: finishedAgoMs === null ? null : db.raw("now() - ? * interval '1 millisecond'", [finishedAgoMs]),
      created_at: db.raw("now() - interval '30 days'"),
    });
    await db("outbox_messages").insert([message("sent", 8 * day), message("dead", 8 * day), message("sent", day), message("pending", null)]);
    open();
    expect((await purge.runOnce())?.rows.outbox_messages).toBe(2);
    expect((await db("outbox_messages").select("status").orderBy("status")).map((row: { status: string }) => row.status)).toEqual(["pending", "sent"]);
  });

  it("deletes a TOTP secret no verification can activate any more, never an active one", async () => {
    const secret = (name: string, status: string, ageMs: number) => ({
      consumer_hash: keyedHash(randomBytes(32), "totp-consumer")(name),
      sealed_secret: "sealed",
      key_id: "k1",
      status,
      updated_at: db.raw("now() - ? * interval '1 millisecond'", [ageMs]),
    });
    await db("totp_secrets").insert([secret("stale", "pending", 2 * day), secret("fresh", "pending", hour), secret("enrolled", "active", 400 * day)]);
    open();
    expect((await purge.runOnce())?.rows.pending_totp_secrets).toBe(1);
    expect((await db("totp_secrets").select("status").orderBy("status")).map((row: { status: string }) => row.status)).toEqual(["active", "pending"]);
  });

  it("deletes a \"this wasn't me\" report token the grace period after it expires, used or not", async () => {
    const report = (expiredAgoMs: number, used: boolean) => ({
      id: randomUUID(),
      user_id: "user-1",
      token_hash: randomBytes(16).toString("hex"),
      change: "key_added",
      changed_at: db.raw("now() - interval '30 days'"),
      expires_at: db.raw("now() - ? * interval '1 millisecond'", [expiredAgoMs]),
      used_at: used ? db.raw("now() - interval '20 days'") : null,
    });
    await db("factor_change_reports").insert([report(8 * day, true), report(8 * day, false), report(day, true), report(-day, false)]);
    open();
    expect((await purge.runOnce())?.rows.factor_change_reports).toBe(2);
    expect(await count("factor_change_reports")).toBe(2);
    expect(await rowsPurged("factor_change_reports", "deleted")).toBe(2);
  });

  it("is bounded: at most batch size × batches rows per table and round, oldest first; the rest goes next round", async () => {
    for (let age = 0; age < 7; age++) await auditRow(400 * day + age * hour, null);
    await auditRow(day, null);
    open({ batchSize: 2, maxBatches: 2 });
    const first = await purge.runOnce();
    expect(first?.rows.audit_events).toBe(4);
    expect(first?.unfinished).toEqual(["audit_events"]);
    // The oldest four went: the youngest three old rows and the recent one remain.
    const left = await db("audit_events").select(db.raw("extract(epoch from now() - occurred_at)::int / 3600 as hours")).orderBy("occurred_at", "desc");
    expect(left.map((row: { hours: number }) => row.hours)).toEqual([24, 400 * 24, 400 * 24 + 1, 400 * 24 + 2]);
    const second = await purge.runOnce();
    expect(second?.rows.audit_events).toBe(3);
    expect(second?.unfinished).toEqual([]);
    expect(await count("audit_events")).toBe(1);
  });

  it("counts a failed round and says so; the next round purges as usual", async () => {
    await auditRow(400 * day);
    const store = sqlRetention(db, { schema: backends[backend]!.schema, addressHash });
    let failNext = true;
    const flaky: RetentionStore = {
      purge: (plan) => {
        if (!failNext) return store.purge(plan);
        failNext = false;
        return Promise.reject(new Error("connection lost"));
      },
    };
    registry = new Registry();
    purge = new RetentionPurge(flaky, rules, retentionMetrics(registry), createLogger("silent"));
    await expect(purge.runOnce()).rejects.toThrow("connection lost");
    expect((await purge.runOnce())?.rows.audit_events).toBe(1);
    const metrics = await registry.metrics();
    expect(sampleValue(metrics, "onetime_retention_rounds_total", 'outcome="failed"')).toBe(1);
    expect(sampleValue(metrics, "onetime_retention_rounds_total", 'outcome="purged"')).toBe(1);
  });
});

describe("retention purge across Postgres instances", () => {
  let db: Database;
  let other: Database;
  beforeAll(async () => {
    db = await backends.postgres!.open();
    other = await backends.postgres!.open();
  });
  afterAll(async () => {
    await db?.destroy();
    await other?.destroy();
  });

  it("runs one round at a time: an instance that finds the lock held purges nothing and counts the round busy", async () => {
    await db("audit_events").insert({ occurred_at: db.raw("now() - interval '400 days'"), principal_kind: "public", action: "account_token.created", outcome: "ok" });
    const registry = new Registry();
    const purge = new RetentionPurge(sqlRetention(db, { schema, addressHash }), rules, retentionMetrics(registry), createLogger("silent"));
    // Another instance's round, holding the lock on its own session.
    const holder: unknown = await other.client.acquireConnection();
    try {
      await other.raw("select pg_advisory_lock(hashtext(?))", [`onetime-retention:${schema}`]).connection(holder);
      expect(await purge.runOnce()).toBeNull();
      expect(Number((await db("audit_events").count<{ n: string }[]>("* as n"))[0]!.n)).toBe(1);
      await other.raw("select pg_advisory_unlock(hashtext(?))", [`onetime-retention:${schema}`]).connection(holder);
    } finally {
      await other.client.releaseConnection(holder);
    }
    expect((await purge.runOnce())?.rows.audit_events).toBe(1);
    expect(sampleValue(await registry.metrics(), "onetime_retention_rounds_total", 'outcome="busy"')).toBe(1);
  });

  it("a lock in another schema does not hold this one up", async () => {
    const purge = new RetentionPurge(sqlRetention(db, { schema, addressHash }), rules, retentionMetrics(new Registry()), createLogger("silent"));
    const holder: unknown = await other.client.acquireConnection();
    try {
      await other.raw("select pg_advisory_lock(hashtext(?))", ["onetime-retention:some_other_schema"]).connection(holder);
      expect(await purge.runOnce()).not.toBeNull();
      await other.raw("select pg_advisory_unlock(hashtext(?))", ["onetime-retention:some_other_schema"]).connection(holder);
    } finally {
      await other.client.releaseConnection(holder);
    }
  });

  it("finds every batch through an index: no statement of a round needs a sequential scan", async () => {
    const statements: { sql: string; bindings: unknown[] }[] = [];
    const record = (query: { sql: string; bindings?: unknown[] }) => statements.push({ sql: query.sql, bindings: query.bindings ?? [] });
    // Rows to reduce, so the round runs its update too.
    await db("audit_events").insert({ occurred_at: db.raw("now() - interval '8 days'"), principal_kind: "public", action: "account_token.created", outcome: "ok", client_address: "192.0.2.1" });
    db.on("query", record);
    try {
      await new RetentionPurge(sqlRetention(db, { schema, addressHash }), rules, retentionMetrics(new Registry()), createLogger("silent")).runOnce();
    } finally {
      db.off("query", record);
    }
    const purging = statements.filter(({ sql }) => /^\s*(delete|update|select id)/i.test(sql));
    expect(purging.length).toBeGreaterThanOrEqual(6);
    // The planner prefers a scan on a table this small; with scans priced out, only a statement no index serves still scans.
    const client = (await db.client.acquireConnection()) as { query(sql: string, values?: unknown[]): Promise<{ rows: Record<string, string>[] }> };
    try {
      await client.query("begin");
      await client.query("set local enable_seqscan = off");
      for (const { sql, bindings } of purging) {
        const plan = (await client.query(`explain ${sql}`, bindings)).rows.map((row) => Object.values(row)[0]).join("\n");
        expect(plan, sql).not.toMatch(/Seq Scan/);
      }
      await client.query("rollback");
    } finally {
      await db.client.releaseConnection(client);
    }
  });
});
