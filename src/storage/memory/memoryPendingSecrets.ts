import { timingSafeEqual } from "node:crypto";
import type { MessageQueue } from "../../delivery/messageQueue.js";
import type { PendingSecrets, PutOptions, RevokeCondition, SecretState, StoredSecret, TakeResult } from "../../domain/secrets/pendingSecrets.js";
import { secretShard } from "../secretShards.js";
import { assertKey, assertMessage, assertSecret, assertTtl } from "../storeArguments.js";
import { ExpiringEntries } from "./expiringEntries.js";
import { MemorySecretQueue } from "./memorySecretQueue.js";

export interface MemoryPendingSecretsOptions {
  /** Current time in epoch milliseconds; tests inject a fake clock. Default `Date.now()`. */
  readonly now?: () => number;
  /**
   * How often expired entries are dropped in the background, so keys written once and never read
   * again do not pile up; reads drop what they find expired anyway. 0 turns it off. Default 60_000.
   */
  readonly sweepIntervalMs?: number;
  /** Told the shard of each message queued, as RedisPendingSecrets does. Default: nobody. */
  readonly onQueued?: (shard: number) => void;
}

interface SecretEntry extends StoredSecret {
  readonly expiresAt: number;
  attempts: number;
  /** The message queued with this secret, if any: the queue sends only a message its secret names. */
  readonly messageId: string | undefined;
}

/**
 * Pending secrets for the embedded default (no REDIS_URL): one process, one map, and the queue of
 * their messages beside it (`messages`, for a relay). Each operation runs to completion without
 * awaiting, so JavaScript's single thread makes it atomic. It holds state no other instance can
 * see, so it is only for a single instance.
 */
export class MemoryPendingSecrets implements PendingSecrets {
  readonly #entries: ExpiringEntries<SecretEntry>;
  readonly #queue: MemorySecretQueue;
  readonly #onQueued: ((shard: number) => void) | undefined;

  constructor(options: MemoryPendingSecretsOptions = {}) {
    this.#entries = new ExpiringEntries(options);
    this.#queue = new MemorySecretQueue(
      (key, messageId, now) => {
        const entry = this.#entries.get(key, now);
        return entry?.messageId === messageId ? { ttlMs: entry.expiresAt - now } : undefined;
      },
      () => this.#entries.now(),
    );
    this.#onQueued = options.onQueued;
  }

  /** The queue of messages stored with these secrets, for a relay. */
  get messages(): MessageQueue & { readonly size: number } {
    return this.#queue;
  }

  /** Entries held, expired ones included until swept or read; for tests and metrics. */
  get size(): number {
    return this.#entries.size;
  }

  /** Drops every expired entry; returns how many. */
  sweep(): number {
    return this.#entries.sweep();
  }

  async put(key: string, secret: StoredSecret, ttlMs: number, options: PutOptions = {}): Promise<boolean> {
    assertSecret(secret);
    assertTtl(ttlMs);
    const { message } = options;
    if (message !== undefined) assertMessage(message);
    this.#open(key);
    if (options.ifAbsent === true && this.#entries.get(key) !== undefined) return false;
    const { hash, maxAttempts, data } = secret;
    const expiresAt = this.#entries.now() + ttlMs;
    this.#entries.set(key, { hash, maxAttempts, data, attempts: 0, expiresAt, messageId: message?.id });
    if (message !== undefined) {
      const shard = secretShard(key);
      this.#queue.add(shard, key, message);
      this.#onQueued?.(shard);
    }
    return true;
  }

  async take(key: string, hash: string): Promise<TakeResult> {
    this.#open(key);
    const entry = this.#entries.get(key);
    if (entry === undefined) return { status: "missing" };
    entry.attempts += 1;
    const { attempts, data } = entry;
    if (attempts > entry.maxAttempts) return { status: "locked", attempts, data };
    if (hashesEqual(entry.hash, hash)) {
      this.#entries.delete(key);
      return { status: "consumed", attempts, data, maxAttempts: entry.maxAttempts, ttlMs: entry.expiresAt - this.#entries.now() };
    }
    return { status: "mismatch", attempts, attemptsLeft: Math.max(0, entry.maxAttempts - attempts), data };
  }

  async peek(key: string): Promise<SecretState | null> {
    this.#open(key);
    const entry = this.#entries.get(key);
    if (entry === undefined) return null;
    const { attempts, maxAttempts, data } = entry;
    return { attempts, maxAttempts, data, ttlMs: entry.expiresAt - this.#entries.now() };
  }

  async revoke(key: string, only?: RevokeCondition): Promise<boolean> {
    this.#open(key);
    // An expired entry counts as already gone, as it would in Redis.
    const entry = this.#entries.get(key);
    if (entry === undefined || (only !== undefined && entry.data !== only.data)) return false;
    return this.#entries.delete(key);
  }

  async close(): Promise<void> {
    this.#entries.close();
    this.#queue.clear();
  }

  /** Checks the key and that the store is open. */
  #open(key: string): void {
    assertKey(key);
    if (this.#entries.closed) throw new Error("pending secrets are closed");
  }
}

/** Constant-time: timingSafeEqual needs equal lengths, and an HMAC's length is no secret. */
function hashesEqual(stored: string, guess: string): boolean {
  const a = Buffer.from(stored, "utf8");
  const b = Buffer.from(guess, "utf8");
  return a.length === b.length && timingSafeEqual(a, b);
}
