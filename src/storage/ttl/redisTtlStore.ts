import { randomUUID } from "node:crypto";
import type { Redis } from "ioredis";
import { decodeAttemptResult, decodeInteger, decodeSecretState, decodeTakeResult, decodeWindowResult } from "./redisReplies.js";
import { defineTtlScriptCommands, type TtlScriptCommands } from "./redisScriptCommands.js";
import { namespacedKey, type TtlNamespace } from "./ttlKeyspace.js";
import type {
  AttemptResult,
  PutOptions,
  SecretState,
  StoredSecret,
  TakeResult,
  TtlStore,
  WindowResult,
  WindowSpec,
} from "./ttlStore.js";
import { assertInteger, assertKey, assertPositiveInteger, assertSecret, assertWindow } from "./ttlStoreArguments.js";

export interface RedisTtlStoreOptions {
  /**
   * The client to use. Required. It must not set ioredis' own `keyPrefix`: this store prefixes
   * keys itself so that scripts and SCAN see the same names. How it connects and retries is the
   * creator's choice; errors reach the caller, which fails closed.
   */
  readonly redis: Redis;
  /** Prepended to every key, so onetime can share a Redis and tests can isolate. Default "onetime:". */
  readonly keyPrefix?: string;
  /** Whether close() quits the client; false when the client is shared. Default true. */
  readonly ownsClient?: boolean;
}

/** The TTL store on Redis: every operation is one script or one command, so one round trip. */
export class RedisTtlStore implements TtlStore {
  readonly #redis: Redis;
  readonly #scripts: TtlScriptCommands;
  readonly #keyPrefix: string;
  readonly #ownsClient: boolean;
  #closed = false;

  constructor(options: RedisTtlStoreOptions) {
    if (options.redis.options.keyPrefix) {
      throw new Error("RedisTtlStore: use the keyPrefix option of the store, not of the ioredis client");
    }
    this.#redis = options.redis;
    this.#scripts = defineTtlScriptCommands(options.redis);
    this.#keyPrefix = options.keyPrefix ?? "onetime:";
    this.#ownsClient = options.ownsClient ?? true;
  }

  async putSecret(key: string, secret: StoredSecret, ttlMs: number, options: PutOptions = {}): Promise<boolean> {
    assertSecret(secret);
    assertPositiveInteger("ttlMs", ttlMs);
    const ifAbsent = options.ifAbsent === true ? "1" : "0";
    const reply = await this.#scripts.putSecret(
      this.#key("secret", key),
      secret.hash,
      secret.maxAttempts,
      secret.data,
      ttlMs,
      ifAbsent,
    );
    return decodeInteger("putSecret", reply) === 1;
  }

  async takeSecret(key: string, hash: string): Promise<TakeResult> {
    return decodeTakeResult(await this.#scripts.takeSecret(this.#key("secret", key), hash));
  }

  async countAttempt(key: string): Promise<AttemptResult> {
    return decodeAttemptResult(await this.#scripts.countAttempt(this.#key("secret", key)));
  }

  async peekSecret(key: string): Promise<SecretState | null> {
    return decodeSecretState(await this.#scripts.peekSecret(this.#key("secret", key)));
  }

  async deleteSecret(key: string): Promise<boolean> {
    return (await this.#open().del(this.#key("secret", key))) === 1;
  }

  async putValue(key: string, value: string, ttlMs: number, options: PutOptions = {}): Promise<boolean> {
    assertPositiveInteger("ttlMs", ttlMs);
    const redisKey = this.#key("value", key);
    const reply =
      options.ifAbsent === true
        ? await this.#open().set(redisKey, value, "PX", ttlMs, "NX")
        : await this.#open().set(redisKey, value, "PX", ttlMs);
    return reply === "OK";
  }

  async getValue(key: string): Promise<string | null> {
    return this.#open().get(this.#key("value", key));
  }

  async deleteValue(key: string): Promise<boolean> {
    return (await this.#open().del(this.#key("value", key))) === 1;
  }

  async increment(key: string, ttlMs: number, by = 1): Promise<number> {
    assertPositiveInteger("ttlMs", ttlMs);
    assertInteger("by", by);
    return decodeInteger("increment", await this.#scripts.increment(this.#key("counter", key), by, ttlMs));
  }

  async hitWindow(key: string, window: WindowSpec): Promise<WindowResult> {
    assertWindow(window);
    const reply =
      window.kind === "fixed"
        ? await this.#scripts.hitFixedWindow(this.#key("fixed", key), window.limit, window.windowMs)
        : // The member only has to be unique: two hits in the same microsecond must both count.
          await this.#scripts.hitSlidingWindow(this.#key("sliding", key), window.limit, window.windowMs, randomUUID());
    return decodeWindowResult(reply);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#ownsClient) await this.#redis.quit();
  }

  /** Checks the key and that the store is open, then names the Redis key. */
  #key(namespace: TtlNamespace, key: string): string {
    assertKey(key);
    this.#open();
    return this.#keyPrefix + namespacedKey(namespace, key);
  }

  /** A store closed over a shared client must refuse work as one that quit its own client does. */
  #open(): Redis {
    if (this.#closed) throw new Error("TTL store is closed");
    return this.#redis;
  }
}
