import { StartRefused } from "../../errors/startRefused.js";
import { defaultSecretShardCount } from "../secretShards.js";
import type { RedisClient } from "./redisClient.js";
import { shardKeys } from "./secretKeyspace.js";

/**
 * Records the deployment's shard count in Redis on its first start, and refuses a start with
 * another: a secret's shard, so its key, follows from the count, so an instance counting
 * differently would look for live codes where they are not, and its relay would leave the other
 * shards' messages unsent. Before the count was a setting it was always 16; a Redis with no record
 * but with a queue stream is such a deployment's, and only 16 may start on it.
 */
export async function guardShardCount(redis: RedisClient, keyPrefix: string, shardCount: number): Promise<void> {
  const key = shardCountKey(keyPrefix);
  // A second round only if the record vanished between reading it and writing ours.
  for (let round = 0; round < 2; round++) {
    const recorded = await redis.get(key);
    if (recorded !== null) {
      if (recorded === String(shardCount)) return;
      throw refused(shardCount, recorded, key, keyPrefix);
    }
    if (shardCount !== defaultSecretShardCount && (await holdsUnrecordedQueue(redis, keyPrefix))) {
      throw refused(shardCount, `${defaultSecretShardCount} (from before the count was recorded)`, key, keyPrefix);
    }
    // Two first starts at once: one records, the other reads what it recorded.
    if ((await redis.set(key, String(shardCount), "NX")) === "OK") return;
  }
  throw new Error(`the shard count record ${key} keeps disappearing: is something deleting keys under ${keyPrefix}?`);
}

/**
 * Records the count again if the record is gone (Redis restarted without persistence, or was
 * flushed), so that a start after that is still checked against the running instances. A running
 * queue calls it now and then (RedisSecretQueue.tidy); the start's check is guardShardCount.
 */
export async function rerecordShardCount(redis: RedisClient, keyPrefix: string, shardCount: number): Promise<void> {
  await redis.set(shardCountKey(keyPrefix), String(shardCount), "NX");
}

/** One key, no hash tag: read at start and written once a minute at most. */
function shardCountKey(keyPrefix: string): string {
  return `${keyPrefix}secret-shards`;
}

/** Whether any of the 16 streams a deployment from before the setting used exists. */
async function holdsUnrecordedQueue(redis: RedisClient, keyPrefix: string): Promise<boolean> {
  // One EXISTS per key: on a Cluster the streams live in different slots.
  const found = await Promise.all(
    Array.from({ length: defaultSecretShardCount }, (_, shard) => redis.exists(shardKeys(keyPrefix, shard).stream)),
  );
  return found.some((count) => count > 0);
}

function refused(shardCount: number, recorded: string, key: string, keyPrefix: string): StartRefused {
  const count = recorded.split(" ")[0];
  return new StartRefused(
    `REDIS_SECRET_SHARDS is ${shardCount}, but this Redis holds codes named for ${recorded} shards (key ${key}). ` +
      `Set REDIS_SECRET_SHARDS=${count} as on the other instances; to change it, stop every instance, delete the codes ` +
      `(keys under ${keyPrefix}{pending:*}) and ${key}, and start them all with the new count. Codes in flight are lost.`,
  );
}
