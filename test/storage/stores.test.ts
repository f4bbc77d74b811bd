import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/config.js";
import { createLogger } from "../../src/observability/logger.js";
import { inMemoryDataDir } from "../../src/storage/sql/database.js";
import { openStores } from "../../src/storage/stores.js";
import { secretShard } from "../../src/storage/secretShards.js";
import { connectTestRedis, deleteKeysWithPrefix, testRedisUrl, uniqueTestPrefix } from "../support/redis.js";
import { testStoreKeys } from "../support/postgres.js";
import { testEncryptionKeys, testJwtSecret } from "../support/tokens.js";

describe("opening the stores", () => {
  it("fails the start, naming Redis, when Redis is unreachable", async () => {
    const config = loadConfig({ DATA_DIR: inMemoryDataDir, REDIS_URL: "redis://:hunter2@127.0.0.1:1", DISABLED_CHANNELS: "email,sms,push", AUTH_JWT_SECRET: testJwtSecret, ENCRYPTION_KEYS: testEncryptionKeys });
    const failure = await openStores(config, createLogger("silent"), testStoreKeys).catch((error: unknown) => error as Error);
    expect(failure).toBeInstanceOf(Error);
    expect((failure as Error).message).toBe("Redis at redis://:***@127.0.0.1:1 is not reachable");
  }, 60_000);

  it.each(["embedded", "redis"])("opens %s pending secrets whose messages reach the secrets' queue, telling whoever wired it", async (kind) => {
    const keyPrefix = uniqueTestPrefix("stores");
    const redisEnv = kind === "redis" ? { REDIS_URL: testRedisUrl(), REDIS_KEY_PREFIX: keyPrefix, DISABLED_CHANNELS: "email,sms,push" } : {};
    const config = loadConfig({ DATA_DIR: inMemoryDataDir, AUTH_JWT_SECRET: testJwtSecret, ENCRYPTION_KEYS: testEncryptionKeys, ...redisEnv });
    const queued: number[] = [];
    const stores = await openStores(config, createLogger("silent"), testStoreKeys, { onSecretQueued: (shard) => queued.push(shard) });
    try {
      const message = { id: "m1", kind: "email" as const, sealedPayload: "sealed", maxAttempts: 3 };
      await stores.secrets.put("v:1", { hash: "h", maxAttempts: 3, data: "{}" }, 60_000, { message });
      expect(queued).toEqual([secretShard("v:1")]);
      expect((await stores.secretMessages.claim(10, 60_000)).map((claimed) => claimed.id)).toEqual(["m1"]);
    } finally {
      await stores.close();
      if (kind === "redis") {
        const admin = await connectTestRedis();
        await deleteKeysWithPrefix(admin, keyPrefix);
        await admin.quit();
      }
    }
  }, 60_000);
});
