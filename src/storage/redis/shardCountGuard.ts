import { StartRefused } from "../../errors/startRefused.js";
import type { RedisClient } from "./redisClient.js";

/**
 * Records the deployment's shard count in Redis on its first start, and refuses a start with
 * another: a secret's shard, so its key, follows from the count, so an instance counting
 * differently would look for live codes where they are not, and its relay would leave the other
 * shards' messages unsent. The first start of a deployment records the count it has, which for
 * deployments from before the setting is the 16 their keys were named with.
 */
export async function guardShardCount(redis: RedisClient, keyPrefix: string, shardCount: number): Promise<void> {
  // No hash tag needed: one key, read once at start.
  const key = `${keyPrefix}secret-shards`;
  if ((await redis.set(key, String(shardCount), "NX")) === "OK") return;
  const recorded = await redis.get(key);
  if (recorded === String(shardCount)) return;
  throw new StartRefused(
    `REDIS_SECRET_SHARDS is ${shardCount}, but this Redis holds codes named for ${recorded ?? "(none)"} shards (key ${key}). ` +
      `Set REDIS_SECRET_SHARDS=${recorded ?? ""} as on the other instances; to change it, stop every instance, delete the codes ` +
      `(keys under ${keyPrefix}{pending:*}) and ${key}, and start them all with the new count. Codes in flight are lost.`,
  );
}
