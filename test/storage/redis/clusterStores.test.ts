import { setTimeout as sleep } from "node:timers/promises";
import type { Cluster } from "ioredis";
import { afterAll, beforeAll, expect, it } from "vitest";
import { RedisPendingSecrets } from "../../../src/storage/redis/redisPendingSecrets.js";
import { RedisSecretQueue } from "../../../src/storage/redis/redisSecretQueue.js";
import { RedisSendLimits } from "../../../src/storage/redis/redisSendLimits.js";
import type { TrafficRequest } from "../../../src/domain/secrets/sendLimits.js";
import type { StoreCalls } from "../../../src/observability/storeCalls.js";
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

it("admits with traffic in one script per slot, and undoes the earlier slots' charges when a later one refuses", async () => {
  const keyPrefix = `${filePrefix}round-trips:`;
  const scripts: string[] = [];
  const calls: StoreCalls = { begin: (operation) => (scripts.push(operation.summary.replace("EVALSHA onetimeLimits_", "")), () => {}) };
  const limits = new RedisSendLimits({ redis: admin, keyPrefix, ownsClient: false, calls });
  const traffic: TrafficRequest = {
    channel: "sms",
    global: { limit: 1, windowMs: 60_000 },
    area: { country: "GB", prefix: "p447700", prefixLimit: { limit: 2, windowMs: 60_000 } },
  };
  const send = (scope: string, withTraffic = traffic) => ({
    scope,
    bucket: "sms",
    idempotency: { key: "k1", fingerprint: "fp", ttlMs: 30_000 },
    sends: { limit: 1, windowMs: 60_000, firstResendDelayMs: 0, maxResendDelayMs: 0 },
    guesses: { limit: 3, windowMs: 60_000, reserve: 3 },
    traffic: withTraffic,
  });

  // The destination's slot, the area's, the channel's: three round trips.
  expect((await limits.admit(send("number-1"))).status).toBe("admitted");
  expect(scripts.splice(0)).toEqual(["admit", "admitTraffic", "admitTraffic"]);
  // The channel refuses after the destination and the area were charged: both are given back.
  expect(await limits.admit(send("number-2"))).toMatchObject({ status: "traffic", rule: "channel_rate" });
  expect(scripts.splice(0).sort()).toEqual(["admit", "admitTraffic", "admitTraffic", "refund", "refundTraffic"]);
  const { global: _, ...areaOnly } = traffic;
  expect(await limits.admit(send("number-2", areaOnly))).toMatchObject({ status: "admitted", sendNumber: 1, reservedGuesses: 3 });
  // The destination refuses first: the other slots are never asked.
  scripts.length = 0;
  expect((await limits.admit({ ...send("number-2"), idempotency: undefined })).status).toBe("send_limit");
  expect(scripts).toEqual(["admit"]);

  // A refund runs one script per slot.
  scripts.length = 0;
  await limits.refund("number-1", "sms", { guesses: 3, sendNumber: 1, traffic });
  expect(scripts.sort()).toEqual(["refund", "refundTraffic", "refundTraffic"]);
});
