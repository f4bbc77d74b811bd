import { randomBytes } from "node:crypto";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createSecretBox, type SecretBox } from "../../../src/crypto/secretBox.js";
import { newTotpSecret } from "../../../src/domain/totp/totp.js";
import type { TotpSecretStore } from "../../../src/domain/totp/totpSecretStore.js";
import { inMemoryDataDir, openDatabase, type Database } from "../../../src/storage/sql/database.js";
import { sqlTotpSecrets } from "../../../src/storage/sql/sqlTotpSecrets.js";
import { dropSchema, testDatabaseUrl, uniqueSchema } from "../../support/postgres.js";

const schema = uniqueSchema("totp_secrets");
const backends: Record<string, () => Promise<Database>> = {
  // A pool as large as the race below, so its 20 updates really are in flight together.
  postgres: () => openDatabase({ kind: "postgres", url: testDatabaseUrl(), schema, poolMax: 20 }),
  pglite: () => openDatabase({ kind: "pglite", dataDir: inMemoryDataDir, schema: "public" }),
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

  function sealed(secret = newTotpSecret()): string {
    return box.seal(secret, `totp:${consumer}`);
  }

  beforeAll(async () => {
    db = await backends[backend]!();
    store = sqlTotpSecrets(db);
  });
  afterAll(async () => {
    await db?.destroy();
  });
  afterEach(async () => {
    await db("totp_secrets").delete();
  });

  it("creates a pending secret, replaces it while pending, and keeps it once active", async () => {
    const first = sealed();
    expect(await store.enrol(consumer, first, "k1")).toEqual({
      outcome: "created",
      record: { consumer, sealedSecret: first, keyId: "k1", status: "pending", lastUsedStep: null },
    });
    const second = sealed();
    expect(await store.enrol(consumer, second, "k2")).toEqual({
      outcome: "replaced",
      record: { consumer, sealedSecret: second, keyId: "k2", status: "pending", lastUsedStep: null },
    });
    expect(await store.find(consumer)).toEqual({ consumer, sealedSecret: second, keyId: "k2", status: "pending", lastUsedStep: null });

    expect(await store.markUsed(consumer, step)).toBe(true);
    const active = { consumer, sealedSecret: second, keyId: "k2", status: "active", lastUsedStep: step };
    expect(await store.find(consumer)).toEqual(active);
    expect(await store.enrol(consumer, sealed(), "k1")).toEqual({ outcome: "already_active", record: active });
    expect(await store.find(consumer)).toEqual(active);

    const row = await db("totp_secrets").where({ consumer }).first<{ activated_at: Date | null; created_at: Date }>();
    expect(row?.activated_at).toBeInstanceOf(Date);
  });

  it("finds nothing for an unknown consumer", async () => {
    expect(await store.find("nobody@example.com")).toBeNull();
    expect(await store.markUsed("nobody@example.com", step)).toBe(false);
    expect(await store.removeAfterUse("nobody@example.com", step)).toBe(false);
  });

  it("stores the consumer as given and the secret only as the sealed value it was handed", async () => {
    const secret = newTotpSecret();
    const value = box.seal(secret, "totp:Ada@Example.com");
    await store.enrol("Ada@Example.com", value, "k1");
    const rows = await db("totp_secrets").select("consumer", "sealed_secret", "key_id");
    expect(rows).toEqual([{ consumer: "Ada@Example.com", sealed_secret: value, key_id: "k1" }]);
    expect(JSON.stringify(rows)).not.toContain(secret);
    expect(box.open(rows[0].sealed_secret, "totp:Ada@Example.com")).toBe(secret);
  });

  it("uses each step once and never an older one", async () => {
    await store.enrol(consumer, sealed(), "k1");
    expect(await store.markUsed(consumer, step)).toBe(true);
    expect(await store.markUsed(consumer, step)).toBe(false);
    expect(await store.markUsed(consumer, step - 1)).toBe(false);
    expect((await store.find(consumer))?.lastUsedStep).toBe(step);
    expect(await store.markUsed(consumer, step + 1)).toBe(true);
    expect((await store.find(consumer))?.lastUsedStep).toBe(step + 1);
  });

  it("lets exactly one of 20 concurrent uses of one step win", async () => {
    await store.enrol(consumer, sealed(), "k1");
    // A few rounds, each on a fresh step, so a lucky interleaving cannot hide a lost update.
    for (let round = 0; round < 5; round++) {
      const results = await Promise.all(Array.from({ length: 20 }, () => store.markUsed(consumer, step + round)));
      expect(results.filter(Boolean)).toHaveLength(1);
      expect(await store.find(consumer)).toMatchObject({ status: "active", lastUsedStep: step + round });
    }
  });

  it("lets exactly one of 20 concurrent removals with one step win", async () => {
    await store.enrol(consumer, sealed(), "k1");
    await store.markUsed(consumer, step);
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, index) => (index % 2 === 0 ? store.removeAfterUse(consumer, step + 1) : store.markUsed(consumer, step + 1))),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it("removes a secret only with a step newer than the last used one", async () => {
    await store.enrol(consumer, sealed(), "k1");
    await store.markUsed(consumer, step);
    expect(await store.removeAfterUse(consumer, step)).toBe(false);
    expect(await store.removeAfterUse(consumer, step - 1)).toBe(false);
    expect(await store.find(consumer)).not.toBeNull();
    expect(await store.removeAfterUse(consumer, step + 1)).toBe(true);
    expect(await store.find(consumer)).toBeNull();
    expect(await store.removeAfterUse(consumer, step + 2)).toBe(false);

    // Removed, the consumer can enrol afresh.
    expect((await store.enrol(consumer, sealed(), "k1")).outcome).toBe("created");
  });

  it("removes a pending secret with any valid step", async () => {
    await store.enrol(consumer, sealed(), "k1");
    expect(await store.removeAfterUse(consumer, step)).toBe(true);
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

  it("refuses a step that is not a non-negative integer", async () => {
    await expect(store.markUsed(consumer, -1)).rejects.toThrow(RangeError);
    await expect(store.markUsed(consumer, 1.5)).rejects.toThrow(RangeError);
    await expect(store.removeAfterUse(consumer, Number.NaN)).rejects.toThrow(RangeError);
  });
});
