import { setTimeout as sleep } from "node:timers/promises";
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { RedisPendingSecrets } from "../../../src/storage/redis/redisPendingSecrets.js";
import { RedisSecretQueue } from "../../../src/storage/redis/redisSecretQueue.js";
import { secretKeyName, shardKeys } from "../../../src/storage/redis/secretKeyspace.js";
import { secretShard } from "../../../src/storage/secretShards.js";
import { startPrivateRedis } from "../../support/privateRedis.js";
import { connectTestRedis, deleteKeysWithPrefix, escapeGlob, scanKeys, uniqueTestPrefix } from "../../support/redis.js";
import { describePendingSecretsContract, message } from "../pendingSecrets.contract.js";

const filePrefix = uniqueTestPrefix("redis-pending-secrets");
let admin: Redis;
let fixtureNumber = 0;

beforeAll(async () => {
  admin = await connectTestRedis();
});

afterAll(async () => {
  if (admin === undefined) return;
  await deleteKeysWithPrefix(admin, filePrefix);
  await admin.quit();
});

/** A store on its own connection; stores sharing a keyPrefix see the same state. */
async function openStore(keyPrefix: string, onQueued?: (shard: number) => void): Promise<RedisPendingSecrets> {
  return new RedisPendingSecrets({ redis: await connectTestRedis(), keyPrefix, ...(onQueued === undefined ? {} : { onQueued }) });
}

describePendingSecretsContract("RedisPendingSecrets", async () => {
  // Fresh state per test: its own prefix under the file's.
  const keyPrefix = `${filePrefix}${fixtureNumber++}:`;
  const queuedShards: number[] = [];
  const clients: Redis[] = [];
  return {
    store: await openStore(keyPrefix, (shard) => queuedShards.push(shard)),
    peer: () => openStore(keyPrefix),
    queue: async () => {
      const redis = await connectTestRedis();
      clients.push(redis);
      return new RedisSecretQueue({ redis, keyPrefix });
    },
    queuedShards,
    // Redis's clock is the one that counts, so time really has to pass.
    elapse: (ms) => sleep(ms),
    close: async () => {
      await Promise.all(clients.map((redis) => redis.quit()));
    },
  };
});

describe("RedisPendingSecrets in Redis", () => {
  const keyPrefix = `${filePrefix}layout:`;
  let store: RedisPendingSecrets;

  beforeAll(async () => {
    store = await openStore(keyPrefix);
  });

  afterAll(async () => {
    await store?.close();
  });

  afterEach(async () => {
    await deleteKeysWithPrefix(admin, keyPrefix);
  });

  it("keeps a secret in its shard's hash, with an expiry, holding only what it was given", async () => {
    const marker = `marker-${Date.now()}`;
    await store.put(marker, { hash: "the-hmac", maxAttempts: 3, data: '{"id":1}' }, 60_000);
    const keys = await scanKeys(admin, `${escapeGlob(keyPrefix)}*`);
    expect(keys).toEqual([`${keyPrefix}{pending:${secretShard(marker)}}:secret:${marker}`]);
    expect(await admin.pttl(keys[0]!)).toBeGreaterThan(59_000);
    expect(await admin.hgetall(keys[0]!)).toEqual({ hash: "the-hmac", attempts: "0", max: "3", data: '{"id":1}' });
  });

  it("queues a message in its secret's shard stream and live set, naming both in the secret, in the same step", async () => {
    const queued = message("m-1", { template: "verification", reference: "v-1" });
    await store.put("v:1", { hash: "the-hmac", maxAttempts: 3, data: "{}" }, 60_000, { message: queued });
    const secretKey = secretKeyName(keyPrefix, secretShard("v:1"), "v:1");
    const { stream, live } = shardKeys(keyPrefix, secretShard("v:1"));
    const entries = await admin.xrange(stream, "-", "+");
    expect(entries).toHaveLength(1);
    const [entryId, fields] = entries[0]!;
    expect(await admin.hmget(secretKey, "msg", "entry")).toEqual(["m-1", entryId]);
    // The entry names no key: the queue's scripts never read a secret.
    const expires = fields[fields.indexOf("expires") + 1]!;
    expect(fields).toEqual([
      "id", "m-1", "kind", "email", "template", "verification", "reference", "v-1",
      "payload", queued.sealedPayload, "max", "3", "attempt", "1", "expires", expires,
    ]);
    // The secret's expiry, by Redis' clock, in the entry and as the live set's score.
    expect(await admin.zscore(live, "m-1")).toBe(expires);
    const [seconds, micros] = await admin.time();
    const redisNow = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
    expect(Number(expires) - redisNow).toBeGreaterThan(59_000);
    expect(Number(expires) - redisNow).toBeLessThanOrEqual(60_000);
  });

  it("ends the message with its secret, in the same step: taken, revoked or replaced, its entry and live mark go", async () => {
    const shardOf = (key: string) => shardKeys(keyPrefix, secretShard(key));
    const stored = { hash: "the-hmac", maxAttempts: 3, data: "{}" };
    for (const key of ["taken", "revoked", "replaced"]) await store.put(key, stored, 60_000, { message: message(`m-${key}`) });
    expect((await store.take("taken", "the-hmac")).status).toBe("consumed");
    expect(await store.revoke("revoked")).toBe(true);
    await store.put("replaced", stored, 60_000, { message: message("m-new") });
    for (const key of ["taken", "revoked", "replaced"]) {
      const { stream, live } = shardOf(key);
      expect(await admin.zscore(live, `m-${key}`)).toBeNull();
      const ids = (await admin.xrange(stream, "-", "+")).map(([, fields]) => fields[1]);
      expect(ids).not.toContain(`m-${key}`);
    }
    expect(await admin.zscore(shardOf("replaced").live, "m-new")).not.toBeNull();
  });

  it("trims a stream of entries older than the longest time to live when it queues, so it stays bounded with no relay", async () => {
    const { stream } = shardKeys(keyPrefix, secretShard("v:1"));
    // A full stream node (100 entries, Redis' default) of entries from long ago: approximate
    // trimming (MINID ~) drops whole nodes.
    for (let i = 1; i <= 100; i++) await admin.xadd(stream, `1-${i}`, "id", `ancient-${i}`);
    await store.put("v:1", { hash: "h", maxAttempts: 3, data: "{}" }, 60_000, { message: message("m-1") });
    expect((await admin.xrange(stream, "-", "+")).map(([, fields]) => fields[1])).toEqual(["m-1"]);
  });

  it("names every key of a shard with the shard's hash tag first, whatever braces the caller's key holds", () => {
    const key = "odd{key}";
    const tag = `{pending:${secretShard(key)}}`;
    const names = [secretKeyName(keyPrefix, secretShard(key), key), ...Object.values(shardKeys(keyPrefix, secretShard(key)))];
    for (const name of names) expect(name.slice(keyPrefix.length).startsWith(tag)).toBe(true);
  });

  it("recovers when Redis has forgotten its scripts (EVALSHA falls back on NOSCRIPT)", async () => {
    // A Redis of its own: flushing the shared one's scripts would disturb other files' round-trip counts.
    const own = await startPrivateRedis();
    const client = new Redis(own.url);
    const forgetful = new RedisPendingSecrets({ redis: client, keyPrefix });
    try {
      await forgetful.put("s", { hash: "h", maxAttempts: 3, data: "" }, 60_000);
      await client.script("FLUSH");
      expect((await forgetful.take("s", "h")).status).toBe("consumed");
    } finally {
      await forgetful.close();
      await own.stop();
    }
  });

  it("refuses a client that prefixes keys itself, and a prefix with braces", () => {
    const prefixed = new Redis({ lazyConnect: true, keyPrefix: "x:" });
    expect(() => new RedisPendingSecrets({ redis: prefixed, keyPrefix })).toThrow(/keyPrefix/);
    expect(() => new RedisSecretQueue({ redis: prefixed, keyPrefix })).toThrow(/keyPrefix/);
    prefixed.disconnect();
    const plain = new Redis({ lazyConnect: true });
    expect(() => new RedisPendingSecrets({ redis: plain, keyPrefix: "a{b}:" })).toThrow(/braces/);
    plain.disconnect();
  });

  it("fails, rather than waits, when Redis is unreachable", async () => {
    const unreachable = new Redis({
      port: 1,
      lazyConnect: true,
      enableOfflineQueue: false,
      retryStrategy: () => null,
    });
    unreachable.on("error", () => {});
    await unreachable.connect().catch(() => {});
    const offline = new RedisPendingSecrets({ redis: unreachable, keyPrefix });
    await expect(offline.take("s", "h")).rejects.toThrow();
    unreachable.disconnect();
  });

  it("reports an unreachable test Redis clearly", async () => {
    const saved = process.env.REDIS_URL;
    process.env.REDIS_URL = "redis://127.0.0.1:1";
    try {
      await expect(connectTestRedis()).rejects.toThrow(/Redis is not reachable at redis:\/\/127\.0\.0\.1:1/);
    } finally {
      if (saved === undefined) delete process.env.REDIS_URL;
      else process.env.REDIS_URL = saved;
    }
  });
});
