import { randomBytes } from "node:crypto";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createSecretBox, type SecretBox } from "../../../src/crypto/secretBox.js";
import { newTotpSecret } from "../../../src/domain/totp/totp.js";
import type { Actor } from "../../../src/domain/actor.js";
import type { TotpSecretStore } from "../../../src/domain/totp/totpSecretStore.js";
import { inMemoryDataDir, openDatabase, type Database } from "../../../src/storage/sql/database.js";
import { sqlTotpSecrets } from "../../../src/storage/sql/sqlTotpSecrets.js";
import { dropSchema, testDatabaseUrl, testMigrationContext, uniqueSchema } from "../../support/postgres.js";

const schema = uniqueSchema("totp_secrets");
const backends: Record<string, () => Promise<Database>> = {
  // A pool as large as the race below, so its 20 updates really are in flight together.
  postgres: () => openDatabase({ kind: "postgres", url: testDatabaseUrl(), schema, poolMax: 20 }, testMigrationContext),
  pglite: () => openDatabase({ kind: "pglite", dataDir: inMemoryDataDir, schema: "public" }, testMigrationContext),
};

afterAll(async () => {
  await dropSchema(schema);
});

describe.each(Object.keys(backends))("TOTP secrets on %s", (backend) => {
  let db: Database;
  let store: TotpSecretStore;
  const box: SecretBox = createSecretBox([{ id: "k1", key: randomBytes(32) }]);
  const consumer = "ada@example.com";
  const step = 58_000_000;
  const actor: Actor = { kind: "service", subject: "billing", requestId: "req-0001" };
  const consumerHash = testMigrationContext.totpConsumerHash;

  function sealed(secret = newTotpSecret()): string {
    return box.seal(secret, `totp:${consumer}`);
  }

  beforeAll(async () => {
    db = await backends[backend]!();
    store = sqlTotpSecrets(db, testMigrationContext.totpConsumerHash);
  });
  afterAll(async () => {
    await db?.destroy();
  });
  afterEach(async () => {
    await db("totp_secrets").delete();
    await db("audit_events").delete();
  });

  interface AuditRow {
    request_id: string | null;
    principal_kind: string;
    principal_subject: string | null;
    action: string;
    subject: string | null;
    outcome: string;
    details: Record<string, unknown>;
  }

  async function auditRows(): Promise<AuditRow[]> {
    return db("audit_events")
      .select<AuditRow[]>("request_id", "principal_kind", "principal_subject", "action", "subject", "outcome", "details")
      .orderBy("id");
  }

  it("creates a pending secret, replaces it while pending, and keeps it once active", async () => {
    const first = sealed();
    expect(await store.enrol(consumer, first, "k1")).toEqual({
      outcome: "created",
      record: { sealedSecret: first, keyId: "k1", status: "pending", lastUsedStep: null },
    });
    const second = sealed();
    expect(await store.enrol(consumer, second, "k2")).toEqual({
      outcome: "replaced",
      record: { sealedSecret: second, keyId: "k2", status: "pending", lastUsedStep: null },
    });
    expect(await store.find(consumer)).toEqual({ sealedSecret: second, keyId: "k2", status: "pending", lastUsedStep: null });

    expect(await store.markUsed(consumer, step, actor)).toBe(true);
    const active = { sealedSecret: second, keyId: "k2", status: "active", lastUsedStep: step };
    expect(await store.find(consumer)).toEqual(active);
    expect(await store.enrol(consumer, sealed(), "k1")).toEqual({ outcome: "already_active", record: active });
    expect(await store.find(consumer)).toEqual(active);

    const row = await db("totp_secrets").first<{ activated_at: Date | null; created_at: Date }>();
    expect(row?.activated_at).toBeInstanceOf(Date);
  });

  it("finds nothing for an unknown consumer", async () => {
    expect(await store.find("nobody@example.com")).toBeNull();
    expect(await store.markUsed("nobody@example.com", step, actor)).toBe(false);
    expect(await store.removeAfterUse("nobody@example.com", step, actor)).toBe(false);
  });

  it("keys each consumer, exactly as given, by its keyed hash and keeps the secret only as handed", async () => {
    const secret = newTotpSecret();
    const value = box.seal(secret, "totp:Ada@Example.com");
    await store.enrol("Ada@Example.com", value, "k1");
    await store.enrol(consumer, sealed(), "k1");
    const rows = await db("totp_secrets").select<{ consumer_hash: string; sealed_secret: string; key_id: string }[]>("consumer_hash", "sealed_secret", "key_id");
    expect(rows.map((row) => row.consumer_hash).sort()).toEqual(
      ["Ada@Example.com", consumer].map((each) => testMigrationContext.totpConsumerHash(each)).sort(),
    );
    const stored = rows.find((row) => row.consumer_hash === testMigrationContext.totpConsumerHash("Ada@Example.com"));
    expect(stored).toEqual({ consumer_hash: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/), sealed_secret: value, key_id: "k1" });
    expect(JSON.stringify(rows)).not.toContain(secret);
    expect(box.open(stored!.sealed_secret, "totp:Ada@Example.com")).toBe(secret);
    expect((await store.find("Ada@Example.com"))?.sealedSecret).toBe(value);
  });

  it("leaves no consumer's text in any column of totp_secrets or audit_events, as a dump would show them", async () => {
    const consumers = ["ada@example.com", "+4915112345678", "account-7f3a9c", "Grace.Hopper@Example.org"];
    for (const each of consumers) await store.enrol(each, box.seal(newTotpSecret(), `totp:${each}`), "k1");
    await store.markUsed(consumers[0]!, step, actor);
    await store.markUsed(consumers[1]!, step, actor);
    await store.removeAfterUse(consumers[1]!, step + 1, actor);
    // Each whole row as Postgres prints it: every column, including any added later.
    const dump = await db.raw<{ rows: { row: string }[] }>("select t::text as row from totp_secrets t");
    expect(dump.rows).toHaveLength(3);
    const text = dump.rows.map((each) => each.row.toLowerCase()).join("\n");
    // The audit trail names them only by the same hash.
    const audit = await db.raw<{ rows: { row: string }[] }>("select a::text as row from audit_events a");
    expect(audit.rows).toHaveLength(3);
    const auditText = audit.rows.map((each) => each.row.toLowerCase()).join("\n");
    for (const each of consumers) {
      expect(auditText).not.toContain(each.toLowerCase());
      expect(text).not.toContain(each.toLowerCase());
      // The local part or bare number would name the consumer too (short ones could occur by
      // chance in base64, so only those of 8 characters or more are looked for).
      const part = each.toLowerCase().split("@")[0]!.replace("+", "");
      if (part.length >= 8) expect(text + auditText).not.toContain(part);
    }
  });

  it("uses each step once and never an older one", async () => {
    await store.enrol(consumer, sealed(), "k1");
    expect(await store.markUsed(consumer, step, actor)).toBe(true);
    expect(await store.markUsed(consumer, step, actor)).toBe(false);
    expect(await store.markUsed(consumer, step - 1, actor)).toBe(false);
    expect((await store.find(consumer))?.lastUsedStep).toBe(step);
    expect(await store.markUsed(consumer, step + 1, actor)).toBe(true);
    expect((await store.find(consumer))?.lastUsedStep).toBe(step + 1);
  });

  it("lets exactly one of 20 concurrent uses of one step win", async () => {
    await store.enrol(consumer, sealed(), "k1");
    // A few rounds, each on a fresh step, so a lucky interleaving cannot hide a lost update.
    for (let round = 0; round < 5; round++) {
      const results = await Promise.all(Array.from({ length: 20 }, () => store.markUsed(consumer, step + round, actor)));
      expect(results.filter(Boolean)).toHaveLength(1);
      expect(await store.find(consumer)).toMatchObject({ status: "active", lastUsedStep: step + round });
    }
    // Only the use that activated the secret is a security event.
    expect((await auditRows()).map((row) => row.action)).toEqual(["totp.enrolled"]);
  });

  it("lets exactly one of 20 concurrent removals with one step win", async () => {
    await store.enrol(consumer, sealed(), "k1");
    await store.markUsed(consumer, step, actor);
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, index) => (index % 2 === 0 ? store.removeAfterUse(consumer, step + 1, actor) : store.markUsed(consumer, step + 1, actor))),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
    const removed = (await store.find(consumer)) === null;
    expect((await auditRows()).map((row) => row.action)).toEqual(removed ? ["totp.enrolled", "totp.removed"] : ["totp.enrolled"]);
  });

  it("removes a secret only with a step newer than the last used one", async () => {
    await store.enrol(consumer, sealed(), "k1");
    await store.markUsed(consumer, step, actor);
    expect(await store.removeAfterUse(consumer, step, actor)).toBe(false);
    expect(await store.removeAfterUse(consumer, step - 1, actor)).toBe(false);
    expect(await store.find(consumer)).not.toBeNull();
    expect(await store.removeAfterUse(consumer, step + 1, actor)).toBe(true);
    expect(await store.find(consumer)).toBeNull();
    expect(await store.removeAfterUse(consumer, step + 2, actor)).toBe(false);

    // Removed, the consumer can enrol afresh.
    expect((await store.enrol(consumer, sealed(), "k1")).outcome).toBe("created");
  });

  it("removes a pending secret with any valid step", async () => {
    await store.enrol(consumer, sealed(), "k1");
    expect(await store.removeAfterUse(consumer, step, actor)).toBe(true);
    expect(await store.find(consumer)).toBeNull();
  });

  it("keeps one row when enrolments race, with one created", async () => {
    const values = Array.from({ length: 10 }, () => sealed());
    const outcomes = await Promise.all(values.map((value) => store.enrol(consumer, value, "k1")));
    expect(outcomes.filter((result) => result.outcome === "created")).toHaveLength(1);
    expect(outcomes.filter((result) => result.outcome === "replaced")).toHaveLength(9);
    const stored = await store.find(consumer);
    expect(values).toContain(stored?.sealedSecret);
  });

  it("audits the use that activates a secret as totp.enrolled, by the actor, under the consumer's hash", async () => {
    await store.enrol(consumer, sealed(), "k1");
    expect(await auditRows()).toEqual([]);
    expect(await store.markUsed(consumer, step, actor)).toBe(true);
    const enrolled: AuditRow = {
      request_id: "req-0001",
      principal_kind: "service",
      principal_subject: "billing",
      action: "totp.enrolled",
      subject: consumerHash(consumer),
      outcome: "ok",
      details: {},
    };
    expect(await auditRows()).toEqual([enrolled]);

    // Later steps of an active secret, and enrolling again, are not security events.
    expect(await store.markUsed(consumer, step + 1, { kind: "admin", subject: "ops", requestId: "req-0002" })).toBe(true);
    expect((await store.enrol(consumer, sealed(), "k1")).outcome).toBe("already_active");
    expect(await auditRows()).toEqual([enrolled]);
  });

  it("audits a removal as totp.removed with the status it removed, and a public actor without subject", async () => {
    await store.enrol(consumer, sealed(), "k1");
    await store.markUsed(consumer, step, actor);
    expect(await store.removeAfterUse(consumer, step + 1, { kind: "admin", subject: "ops", requestId: "req-0003" })).toBe(true);
    await store.enrol(consumer, sealed(), "k1");
    expect(await store.removeAfterUse(consumer, step, { kind: "public" })).toBe(true);
    expect((await auditRows()).slice(1)).toEqual([
      {
        request_id: "req-0003",
        principal_kind: "admin",
        principal_subject: "ops",
        action: "totp.removed",
        subject: consumerHash(consumer),
        outcome: "ok",
        details: { status: "active" },
      },
      {
        request_id: null,
        principal_kind: "public",
        principal_subject: null,
        action: "totp.removed",
        subject: consumerHash(consumer),
        outcome: "ok",
        details: { status: "pending" },
      },
    ]);
  });

  it("audits one activation when uses of different steps race on a pending secret", async () => {
    // Several of these may win (each newer than the last stored), but only the first activates:
    // the others must see the status their own lock found, not the one their statement started with.
    for (let round = 0; round < 3; round++) {
      await store.enrol(`race-${round}@example.com`, sealed(), "k1");
      const results = await Promise.all(Array.from({ length: 20 }, (_, index) => store.markUsed(`race-${round}@example.com`, step + index, actor)));
      expect(results.filter(Boolean).length).toBeGreaterThanOrEqual(1);
    }
    const audited = await auditRows();
    expect(audited.map((row) => row.action)).toEqual(["totp.enrolled", "totp.enrolled", "totp.enrolled"]);
    expect(new Set(audited.map((row) => row.subject)).size).toBe(3);
  });

  it("writes no audit row for a change that did not happen", async () => {
    expect(await store.markUsed("nobody@example.com", step, actor)).toBe(false);
    expect(await store.removeAfterUse("nobody@example.com", step, actor)).toBe(false);
    await store.enrol(consumer, sealed(), "k1");
    expect(await store.markUsed(consumer, step, actor)).toBe(true);
    expect(await store.markUsed(consumer, step, actor)).toBe(false); // lost: the step is spent
    expect(await store.removeAfterUse(consumer, step, actor)).toBe(false); // a used step
    expect(await store.removeAfterUse(consumer, step - 1, actor)).toBe(false);
    expect((await auditRows()).map((row) => row.action)).toEqual(["totp.enrolled"]);
  });

  it("rolls the change back when its audit row cannot be written", async () => {
    // request_id holds 128 characters: a longer one fails the insert, inside the same statement.
    const unwritable: Actor = { kind: "service", subject: "billing", requestId: "r".repeat(129) };
    await store.enrol(consumer, sealed(), "k1");
    await expect(store.markUsed(consumer, step, unwritable)).rejects.toThrow(/too long/);
    expect(await store.find(consumer)).toMatchObject({ status: "pending", lastUsedStep: null });
    await expect(store.removeAfterUse(consumer, step, unwritable)).rejects.toThrow(/too long/);
    expect(await store.find(consumer)).toMatchObject({ status: "pending", lastUsedStep: null });
    expect(await auditRows()).toEqual([]);

    // Once active, a later step writes no audit row, so nothing can fail it.
    expect(await store.markUsed(consumer, step, actor)).toBe(true);
    expect(await store.markUsed(consumer, step + 1, unwritable)).toBe(true);
    await expect(store.removeAfterUse(consumer, step + 2, unwritable)).rejects.toThrow(/too long/);
    expect(await store.find(consumer)).toMatchObject({ status: "active", lastUsedStep: step + 1 });
  });

  it("refuses a step that is not a non-negative integer", async () => {
    await expect(store.markUsed(consumer, -1, actor)).rejects.toThrow(RangeError);
    await expect(store.markUsed(consumer, 1.5, actor)).rejects.toThrow(RangeError);
    await expect(store.removeAfterUse(consumer, Number.NaN, actor)).rejects.toThrow(RangeError);
  });
});
