import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { RedisTtlStore } from "../../../src/storage/ttl/redisTtlStore.js";
import { connectTestRedis, deleteKeysWithPrefix, escapeGlob, scanKeys, uniqueTestPrefix } from "../../support/redis.js";
import { describeTtlStoreContract } from "./ttlStore.contract.js";

const filePrefix = uniqueTestPrefix("redis-ttl-store");
let admin: Redis;
let storeNumber = 0;

beforeAll(async () => {
  admin = await connectTestRedis();
});

afterAll(async () => {
  if (admin === undefined) return;
  await deleteKeysWithPrefix(admin, filePrefix);
  await admin.quit();
});

/** A store on its own connection; stores sharing a keyPrefix see the same state. */
async function openStore(keyPrefix: string): Promise<RedisTtlStore> {
  return new RedisTtlStore({ redis: await connectTestRedis(), keyPrefix });
}

describeTtlStoreContract("RedisTtlStore", async () => {
  // Fresh state per test: its own prefix under the file's.
  const keyPrefix = `${filePrefix}${storeNumber++}:`;
  return { store: await openStore(keyPrefix), peer: () => openStore(keyPrefix) };
});

describe("RedisTtlStore in Redis", () => {
  const keyPrefix = `${filePrefix}layout:`;
  let store: RedisTtlStore;

  beforeAll(async () => {
    store = await openStore(keyPrefix);
  });

  afterAll(async () => {
    await store?.close();
  });

  afterEach(async () => {
    await deleteKeysWithPrefix(admin, keyPrefix);
  });

  it("writes every key under its prefix, with an expiry, holding only what it was given", async () => {
    // A marker no other test uses, so scanning the whole keyspace for it finds only our writes.
    const marker = `marker-${storeNumber}-${Date.now()}`;
    await store.putSecret(marker, { hash: "the-hmac", maxAttempts: 3, data: '{"id":1}' }, 60_000);
    await store.putValue(marker, "value", 60_000);
    await store.increment(marker, 60_000);
    await store.hitWindow(marker, { limit: 5, windowMs: 60_000, kind: "fixed" });
    await store.hitWindow(marker, { limit: 5, windowMs: 60_000, kind: "sliding" });

    const keys = await scanKeys(admin, `*${escapeGlob(marker)}*`);
    expect(keys.sort()).toEqual(
      ["counter", "fixed", "secret", "sliding", "value"].map((namespace) => `${keyPrefix}${namespace}:${marker}`),
    );
    for (const key of keys) {
      expect(await admin.pttl(key)).toBeGreaterThan(59_000);
    }
    expect(await admin.hgetall(`${keyPrefix}secret:${marker}`)).toEqual({
      hash: "the-hmac",
      attempts: "0",
      max: "3",
      data: '{"id":1}',
    });
  });

  it("recovers when Redis has forgotten its scripts (EVALSHA falls back on NOSCRIPT)", async () => {
    await store.putSecret("s", { hash: "h", maxAttempts: 3, data: "" }, 60_000);
    await admin.script("FLUSH");
    expect((await store.takeSecret("s", "h")).status).toBe("consumed");
  });

  it("refuses a client that prefixes keys itself", () => {
    const prefixed = new Redis({ lazyConnect: true, keyPrefix: "x:" });
    expect(() => new RedisTtlStore({ redis: prefixed, keyPrefix })).toThrow(/keyPrefix/);
    prefixed.disconnect();
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
    const offline = new RedisTtlStore({ redis: unreachable, keyPrefix });
    await expect(offline.takeSecret("s", "h")).rejects.toThrow();
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
