import { setTimeout as sleep } from "node:timers/promises";
import type { Cluster } from "ioredis";
import { afterAll, beforeAll, expect, it } from "vitest";
import { RedisPendingSecrets } from "../../../src/storage/redis/redisPendingSecrets.js";
import { RedisSecretQueue } from "../../../src/storage/redis/redisSecretQueue.js";
import { RedisSendLimits } from "../../../src/storage/redis/redisSendLimits.js";
import { connectTestCluster, deleteKeysWithPrefix, escapeGlob, scanKeys, uniqueTestPrefix } from "../../support/redis.js";
import { describePendingSecretsContract, message } from "../pendingSecrets.contract.js";
import { describeSendLimitsContract } from "../sendLimits.contract.js";

/**
 * The same contracts as on one Redis, on a 3-primary Redis Cluster: the shards' and scopes' keys
 * spread over the primaries, and any script whose keys left their hash tag fails with CROSSSLOT.
 */
const filePrefix = uniqueTestPrefix("cluster-stores");
let admin: Cluster;
let fixtureNumber = 0;

beforeAll(async () => {
  admin = await connectTestCluster();
});

afterAll(async () => {
  if (admin === undefined) return;
  await deleteKeysWithPrefix(admin, filePrefix);
  admin.disconnect();
});

describePendingSecretsContract("RedisPendingSecrets on Redis Cluster", async () => {
  const keyPrefix = `${filePrefix}${fixtureNumber++}:`;
  const queuedShards: number[] = [];
  const clients: Cluster[] = [];
  const connect = async () => {
    const client = await connectTestCluster();
    clients.push(client);
    return client;
  };
  return {
    store: new RedisPendingSecrets({ redis: await connect(), keyPrefix, ownsClient: false, onQueued: (shard) => queuedShards.push(shard) }),
    peer: async () => new RedisPendingSecrets({ redis: await connect(), keyPrefix, ownsClient: false }),
    queue: async () => new RedisSecretQueue({ redis: await connect(), keyPrefix }),
    queuedShards,
    elapse: (ms) => sleep(ms),
    close: async () => {
      for (const client of clients) client.disconnect();
    },
  };
});

describeSendLimitsContract("RedisSendLimits on Redis Cluster", async () => {
  const keyPrefix = `${filePrefix}${fixtureNumber++}:`;
  const clients: Cluster[] = [];
  const open = async () => {
    const client = await connectTestCluster();
    clients.push(client);
    return new RedisSendLimits({ redis: client, keyPrefix, ownsClient: false });
  };
  return {
    admission: await open(),
    peer: open,
    elapse: (ms) => sleep(ms),
    close: async () => {
      for (const client of clients) client.disconnect();
    },
  };
});

it("spreads the secrets and their queue's shards over every primary", async () => {
  const keyPrefix = `${filePrefix}spread:`;
  const store = new RedisPendingSecrets({ redis: admin, keyPrefix, ownsClient: false });
  for (let i = 0; i < 64; i++) await store.put(`v:${i}`, { hash: "h", maxAttempts: 3, data: "{}" }, 60_000, { message: message(`m${i}`) });
  const perPrimary = await Promise.all(admin.nodes("master").map((node) => scanKeys(node, `${escapeGlob(keyPrefix)}*`)));
  expect(perPrimary).toHaveLength(3);
  for (const keys of perPrimary) expect(keys.some((key) => key.endsWith(":queue"))).toBe(true);
});
