/**
 * Names of the pending secrets and their queue in Redis. Every name of one shard carries the
 * shard's hash tag `{pending:N}` before anything else, so on Redis Cluster a secret, its shard's
 * stream and its retry set share one slot and one script may touch them all (no CROSSSLOT), while
 * the shards (16 unless REDIS_SECRET_SHARDS says otherwise) spread over as many slots. The tag comes first, so braces in a caller's key, which
 * would otherwise start a tag of their own, change nothing.
 */
export interface ShardKeys {
  /** The shard's stream of messages waiting to be claimed (one consumer group, of relays). */
  readonly stream: string;
  /** Messages waiting to be retried: a sorted set scored by due time (Redis ms). */
  readonly retries: string;
  /**
   * Ids of the messages whose secret still names them: a sorted set scored by the secret's expiry
   * (Redis ms). What the queue checks before it hands a message out (pendingSecretScripts.ts).
   */
  readonly live: string;
}

/** The consumer group every relay claims in: one group, so each entry goes to one relay. */
export const relayGroup = "relays";

export function shardTag(shard: number): string {
  return `{pending:${shard}}`;
}

/** The secret of `key`, in `shard`: secretShard(key), which the caller works out once per operation (it is a hash). */
export function secretKeyName(keyPrefix: string, shard: number, key: string): string {
  return `${keyPrefix}${shardTag(shard)}:secret:${key}`;
}

export function shardKeys(keyPrefix: string, shard: number): ShardKeys {
  const tag = keyPrefix + shardTag(shard);
  return { stream: `${tag}:queue`, retries: `${tag}:retry`, live: `${tag}:live` };
}

/**
 * A prefix with a brace would put its own hash tag ahead of the shard's, sending every key to one
 * slot (or, half-open, splitting a shard's keys across slots).
 */
export function assertKeyPrefix(keyPrefix: string): void {
  if (/[{}]/.test(keyPrefix)) throw new RangeError("Redis keyPrefix must not contain braces");
}
