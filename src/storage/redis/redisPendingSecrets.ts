import type { StoreCalls } from "../../observability/storeCalls.js";
import { assertNoClientKeyPrefix, type RedisClient } from "./redisClient.js";
import type { PendingSecrets, PutOptions, RevokeCondition, SecretState, StoredSecret, TakeResult } from "../../domain/secrets/pendingSecrets.js";
import type { StoreWork } from "../../domain/storeWork.js";
import { defaultSecretShardCount, secretShard } from "../secretShards.js";
import { assertKey, assertMessage, assertSecret, assertTtl, longestSecretTtlMs } from "../storeArguments.js";
import { decodeInteger, decodeSecretState, decodeTakeResult } from "./redisReplies.js";
import { defineScriptCommands, type ScriptCommand } from "./redisScriptCommands.js";
import { peekSecretScript, putSecretScript, revokeSecretScript, takeSecretScript } from "./pendingSecretScripts.js";
import { assertKeyPrefix, relayGroup, secretKeyName, shardKeys } from "./secretKeyspace.js";

export interface RedisPendingSecretsOptions {
  /** Where each script call is observed (span, metrics); unobserved by default. */
  readonly calls?: StoreCalls;
  /**
   * The client to use. Required. It must not set ioredis' own `keyPrefix`: this store prefixes
   * keys itself so that scripts and SCAN see the same names. How it connects and retries is the
   * creator's choice; errors reach the caller, which fails closed.
   */
  readonly redis: RedisClient;
  /** Prepended to every key, so onetime can share a Redis and tests can isolate. No braces. Default "onetime:". */
  readonly keyPrefix?: string;
  /** How many shards the secrets and their queue are split into (REDIS_SECRET_SHARDS). Default 16. */
  readonly shardCount?: number;
  /** Whether close() quits the client; false when the client is shared. Default true. */
  readonly ownsClient?: boolean;
  /**
   * Told the shard of each message queued, once it is stored, so a relay can claim it now and
   * only there (OutboxRelay.nudge). Default: nobody is told; relays find it at their next poll.
   */
  readonly onQueued?: (shard: number) => void;
}

interface SecretLocation {
  readonly shard: number;
  /** The secret's Redis key. */
  readonly name: string;
}

/**
 * Pending secrets on Redis: every operation is one script or one command, so one round trip. A
 * message is queued by the script that stores its secret, in the secret's shard's stream (read
 * by RedisSecretQueue); see secretKeyspace.ts for why the keys of a shard share a hash tag.
 */
export class RedisPendingSecrets implements PendingSecrets {
  readonly #redis: RedisClient;
  readonly #scripts: Record<"put" | "take" | "peek" | "revoke", ScriptCommand>;
  readonly #keyPrefix: string;
  readonly #shardCount: number;
  readonly #ownsClient: boolean;
  readonly #onQueued: ((shard: number) => void) | undefined;
  #closed = false;

  constructor(options: RedisPendingSecretsOptions) {
    assertNoClientKeyPrefix(options.redis, "RedisPendingSecrets");
    this.#keyPrefix = options.keyPrefix ?? "onetime:";
    assertKeyPrefix(this.#keyPrefix);
    this.#shardCount = options.shardCount ?? defaultSecretShardCount;
    this.#redis = options.redis;
    this.#scripts = defineScriptCommands(options.redis, "onetimeSecrets", { put: putSecretScript, take: takeSecretScript, peek: peekSecretScript, revoke: revokeSecretScript }, options.calls);
    this.#ownsClient = options.ownsClient ?? true;
    this.#onQueued = options.onQueued;
  }

  async put(key: string, secret: StoredSecret, ttlMs: number, options: PutOptions = {}, work?: StoreWork): Promise<boolean> {
    assertSecret(secret);
    assertTtl(ttlMs);
    const { message } = options;
    if (message !== undefined) assertMessage(message);
    const location = this.#locate(key);
    const reply = await this.#scripts.put(
      work,
      this.#keys(location),
      secret.hash,
      secret.maxAttempts,
      secret.data,
      ttlMs,
      options.ifAbsent === true ? "1" : "0",
      relayGroup,
      longestSecretTtlMs,
      message?.id ?? "",
      message?.kind ?? "",
      message?.template ?? "",
      message?.reference ?? "",
      message?.sealedPayload ?? "",
      message?.maxAttempts ?? 0,
    );
    const written = decodeInteger("put", reply) === 1;
    if (written && message !== undefined) this.#onQueued?.(location.shard);
    return written;
  }

  async take(key: string, hash: string, work?: StoreWork): Promise<TakeResult> {
    return decodeTakeResult(await this.#scripts.take(work, this.#keys(this.#locate(key)), hash, relayGroup));
  }

  async peek(key: string): Promise<SecretState | null> {
    return decodeSecretState(await this.#scripts.peek(undefined, [this.#locate(key).name]));
  }

  async revoke(key: string, only?: RevokeCondition, work?: StoreWork): Promise<boolean> {
    const args = only === undefined ? [] : [only.data];
    return decodeInteger("revoke", await this.#scripts.revoke(work, this.#keys(this.#locate(key)), relayGroup, ...args)) === 1;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#ownsClient) await this.#redis.quit();
  }

  /** Checks the key and that the store is open, then finds the key's shard (a SHA-1, so once per operation) and names its secret. */
  #locate(key: string): SecretLocation {
    assertKey(key);
    this.#open();
    const shard = secretShard(key, this.#shardCount);
    return { shard, name: secretKeyName(this.#keyPrefix, shard, key) };
  }

  /** The secret and the keys of its shard that a script ending or replacing it touches. */
  #keys({ shard, name }: SecretLocation): string[] {
    const { stream, live } = shardKeys(this.#keyPrefix, shard);
    return [name, stream, live];
  }

  /** A store closed over a shared client must refuse work as one that quit its own client does. */
  #open(): RedisClient {
    if (this.#closed) throw new Error("pending secrets are closed");
    return this.#redis;
  }
}
