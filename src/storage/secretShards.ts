import { createHash } from "node:crypto";

/**
 * How many parts the pending secrets and their queue are split into, unless REDIS_SECRET_SHARDS
 * says otherwise. Each shard is one hash tag, so one Redis Cluster slot: more shards spread the
 * codes more evenly over more primaries, and cost an idle relay one more claim per poll each. A
 * secret's shard is derived from its key, so every instance of a deployment must use the same
 * count (stores.ts records it in Redis and refuses a start that differs).
 */
export const defaultSecretShardCount = 16;

/**
 * The shard of a caller's key: the first bytes of its SHA-1, which no library or runtime version
 * can change (unlike, say, a hash a library picks for its own maps).
 */
export function secretShard(key: string, shardCount = defaultSecretShardCount): number {
  return createHash("sha1").update(key, "utf8").digest().readUInt16BE(0) % shardCount;
}

/** Every shard, in order: what a poll sweeps. */
export function allSecretShards(shardCount = defaultSecretShardCount): readonly number[] {
  return Array.from({ length: shardCount }, (_, shard) => shard);
}
