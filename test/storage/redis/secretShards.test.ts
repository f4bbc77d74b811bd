import { randomBytes } from "node:crypto";
import knexFactory from "knex";
import { afterAll, describe, expect, it } from "vitest";
import { VerificationMethod } from "../../../gen/onetime/v1/verification_service_pb.js";
import { StartRefused } from "../../../src/errors/startRefused.js";
import { RedisSecretQueue } from "../../../src/storage/redis/redisSecretQueue.js";
import { testDatabaseUrl } from "../../support/postgres.js";
import { connectTestRedis, deleteKeysWithPrefix, uniqueTestPrefix } from "../../support/redis.js";
import { startTestServer } from "../../support/server.js";
import { verificationClient } from "../../support/verificationClient.js";

/** Schemas whose names start with `test_<label>` (startTestServer names each `test_<label>_<random>`). */
async function schemasLabelled(label: string): Promise<string[]> {
  const db = knexFactory({ client: "pg", connection: testDatabaseUrl(), pool: { min: 0, max: 1 } });
  try {
    const rows = await db("pg_namespace").where("nspname", "like", `test_${label}%`).select<{ nspname: string }[]>("nspname");
    return rows.map((row) => row.nspname);
  } finally {
    await db.destroy();
  }
}

/** REDIS_SECRET_SHARDS: more hash tags for the codes, the same count on every instance. */
describe("the secret shard count", () => {
  const keyPrefix = uniqueTestPrefix("shards");
  // Labels of this run only, so the check that a refused start leaves no schema sees no other run's.
  const run = randomBytes(4).toString("hex");
  afterAll(async () => {
    const admin = await connectTestRedis();
    try {
      await deleteKeysWithPrefix(admin, keyPrefix);
    } finally {
      admin.disconnect();
    }
  });

  it("spreads codes over as many shards as set, and refuses an instance that counts differently", async () => {
    const server = await startTestServer("real", "shards", { REDIS_KEY_PREFIX: keyPrefix, REDIS_SECRET_SHARDS: "64" });
    try {
      const client = await verificationClient(server.url);
      for (let i = 0; i < 40; i++) {
        const { verification } = await client.initiateVerification({ method: VerificationMethod.EMAIL, consumer: `shard${i}@example.com`, policy: { forcedCode: "123456" } });
        if (i % 2 === 0) await client.validateVerification({ verificationId: verification!.verificationId, code: "123456" });
      }
      const admin = await connectTestRedis();
      try {
        const names = await admin.keys(`${keyPrefix}{pending:*}:secret:*`);
        const shards = new Set(names.map((name) => Number(/\{pending:(\d+)\}/.exec(name)![1])));
        expect(names).toHaveLength(20);
        // 20 codes over 64 shards: with 16, none could be 16 or above.
        expect([...shards].some((shard) => shard >= 16)).toBe(true);
        expect([...shards].every((shard) => shard < 64)).toBe(true);
        expect(await admin.get(`${keyPrefix}secret-shards`)).toBe("64");
      } finally {
        admin.disconnect();
      }

      const refused = await startTestServer("real", `shards_refused_${run}`, { REDIS_KEY_PREFIX: keyPrefix }).then(
        async (other) => {
          await other.stop();
          throw new Error("a start with the default 16 shards was not refused");
        },
        (error: unknown) => error,
      );
      expect(refused).toBeInstanceOf(StartRefused);
      expect((refused as Error).message).toContain("REDIS_SECRET_SHARDS is 16, but this Redis holds codes named for 64 shards");
      // The refused start had made and migrated its schema before Redis refused it: it is gone.
      expect(await schemasLabelled(`shards_refused_${run}`)).toEqual([]);
      // The same count starts beside it.
      const second = await startTestServer("real", "shards", { REDIS_KEY_PREFIX: keyPrefix, REDIS_SECRET_SHARDS: "64" });
      await second.stop();
    } finally {
      await server.stop();
    }
  });

  it("refuses another count on a Redis a deployment from before the setting used (16, unrecorded)", async () => {
    const olderPrefix = uniqueTestPrefix("shards_older");
    const admin = await connectTestRedis();
    try {
      // What a release before the setting leaves: a queue stream of its 16 shards, no record.
      await admin.xadd(`${olderPrefix}{pending:3}:queue`, "*", "m", "x");
      const refused = await startTestServer("real", `shards_older_refused_${run}`, { REDIS_KEY_PREFIX: olderPrefix, REDIS_SECRET_SHARDS: "256" }).then(
        async (other) => {
          await other.stop();
          throw new Error("a start with 256 shards was not refused");
        },
        (error: unknown) => error,
      );
      expect(refused).toBeInstanceOf(StartRefused);
      expect((refused as Error).message).toContain("named for 16 (from before the count was recorded) shards");
      expect((refused as Error).message).toContain("Set REDIS_SECRET_SHARDS=16 as on the other instances");
      expect(await schemasLabelled(`shards_older_refused_${run}`)).toEqual([]);
      expect(await admin.exists(`${olderPrefix}secret-shards`)).toBe(0);
      // 16 is what its keys were named with: that starts, and is recorded.
      const same = await startTestServer("real", "shards_older", { REDIS_KEY_PREFIX: olderPrefix });
      await same.stop();
      expect(await admin.get(`${olderPrefix}secret-shards`)).toBe("16");
    } finally {
      await deleteKeysWithPrefix(admin, olderPrefix);
      admin.disconnect();
    }
  });

  it("is recorded again by a running relay's tidy when Redis lost the record, so a later start is still checked", async () => {
    const lostPrefix = uniqueTestPrefix("shards_lost");
    const admin = await connectTestRedis();
    try {
      const queue = new RedisSecretQueue({ redis: admin, keyPrefix: lostPrefix, shardCount: 64, tidyIntervalMs: 0 });
      await queue.tidy();
      expect(await admin.get(`${lostPrefix}secret-shards`)).toBe("64");
      // A record that is there is never overwritten: only a start may judge it.
      await admin.set(`${lostPrefix}secret-shards`, "32");
      await queue.tidy();
      expect(await admin.get(`${lostPrefix}secret-shards`)).toBe("32");
    } finally {
      await deleteKeysWithPrefix(admin, lostPrefix);
      admin.disconnect();
    }
  });
});
