import { createHash } from "node:crypto";

/**
 * How many parts the queue beside the pending secrets is split into. Fixed, not configurable: a
 * secret's shard is derived from its key, so a different count would look for live secrets (and
 * their messages) in the wrong place. 16 spreads the queue over as many Redis Cluster slots
 * (so it is not one hot key) while a relay's poll still sweeps them all cheaply.
 */
export const secretShardCount = 16;

/**
 * The shard of a caller's key: the first bytes of its SHA-1, which no library or runtime version
 * can change (unlike, say, a hash a library picks for its own maps).
 */
export function secretShard(key: string): number {
  return createHash("sha1").update(key, "utf8").digest().readUInt16BE(0) % secretShardCount;
}

/** Every shard, in order: what a poll sweeps. */
export const allSecretShards: readonly number[] = Array.from({ length: secretShardCount }, (_, shard) => shard);
