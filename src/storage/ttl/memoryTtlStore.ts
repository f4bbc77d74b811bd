import { timingSafeEqual } from "node:crypto";
import { ExpiringEntries } from "./expiringEntries.js";
import { hitFixed, hitSliding, type CountEntry, type LogEntry } from "./memoryWindows.js";
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

export interface MemoryTtlStoreOptions {
  /** Current time in epoch milliseconds; tests inject a fake clock. Default `Date.now()`. */
  readonly now?: () => number;
  /**
   * How often expired entries are dropped in the background, so keys written once and never read
   * again do not pile up; reads drop what they find expired anyway. 0 turns it off. Default 60_000.
   */
  readonly sweepIntervalMs?: number;
}

interface SecretEntry extends StoredSecret {
  readonly kind: "secret";
  readonly expiresAt: number;
  attempts: number;
}

interface ValueEntry {
  readonly kind: "value";
  readonly expiresAt: number;
  readonly value: string;
}

type Entry = SecretEntry | ValueEntry | CountEntry | LogEntry;

/**
 * The TTL store for the embedded default (no REDIS_URL): one process, one map. Each operation
 * runs to completion without awaiting, so JavaScript's single thread makes it atomic. It holds
 * state no other instance can see, so it is only for a single instance.
 */
export class MemoryTtlStore implements TtlStore {
  readonly #entries: ExpiringEntries<Entry>;

  constructor(options: MemoryTtlStoreOptions = {}) {
    this.#entries = new ExpiringEntries(options);
  }

  /** Entries held, expired ones included until swept or read; for tests and metrics. */
  get size(): number {
    return this.#entries.size;
  }

  /** Drops every expired entry; returns how many. */
  sweep(): number {
    return this.#entries.sweep();
  }

  async putSecret(key: string, secret: StoredSecret, ttlMs: number, options: PutOptions = {}): Promise<boolean> {
    assertSecret(secret);
    assertPositiveInteger("ttlMs", ttlMs);
    const id = this.#id("secret", key);
    if (options.ifAbsent === true && this.#entries.get(id) !== undefined) return false;
    const { hash, maxAttempts, data } = secret;
    const expiresAt = this.#entries.now() + ttlMs;
    this.#entries.set(id, { kind: "secret", hash, maxAttempts, data, attempts: 0, expiresAt });
    return true;
  }

  async takeSecret(key: string, hash: string): Promise<TakeResult> {
    const id = this.#id("secret", key);
    const entry = this.#entries.get(id);
    if (entry?.kind !== "secret") return { status: "missing" };
    entry.attempts += 1;
    const { attempts, data } = entry;
    if (attempts > entry.maxAttempts) return { status: "locked", attempts, data };
    if (hashesEqual(entry.hash, hash)) {
      this.#entries.delete(id);
      return { status: "consumed", attempts, data };
    }
    return { status: "mismatch", attempts, attemptsLeft: Math.max(0, entry.maxAttempts - attempts), data };
  }

  async countAttempt(key: string): Promise<AttemptResult> {
    const entry = this.#entries.get(this.#id("secret", key));
    if (entry?.kind !== "secret") return { status: "missing" };
    entry.attempts += 1;
    const { attempts, data } = entry;
    if (attempts > entry.maxAttempts) return { status: "locked", attempts, data };
    return { status: "counted", attempts, attemptsLeft: entry.maxAttempts - attempts, data };
  }

  async peekSecret(key: string): Promise<SecretState | null> {
    const entry = this.#entries.get(this.#id("secret", key));
    if (entry?.kind !== "secret") return null;
    const { attempts, maxAttempts, data } = entry;
    return { attempts, maxAttempts, data, ttlMs: entry.expiresAt - this.#entries.now() };
  }

  async deleteSecret(key: string): Promise<boolean> {
    return this.#delete(this.#id("secret", key));
  }

  async putValue(key: string, value: string, ttlMs: number, options: PutOptions = {}): Promise<boolean> {
    assertPositiveInteger("ttlMs", ttlMs);
    const id = this.#id("value", key);
    if (options.ifAbsent === true && this.#entries.get(id) !== undefined) return false;
    this.#entries.set(id, { kind: "value", value, expiresAt: this.#entries.now() + ttlMs });
    return true;
  }

  async getValue(key: string): Promise<string | null> {
    const entry = this.#entries.get(this.#id("value", key));
    return entry?.kind === "value" ? entry.value : null;
  }

  async deleteValue(key: string): Promise<boolean> {
    return this.#delete(this.#id("value", key));
  }

  async increment(key: string, ttlMs: number, by = 1): Promise<number> {
    assertPositiveInteger("ttlMs", ttlMs);
    assertInteger("by", by);
    const id = this.#id("counter", key);
    const live = this.#entries.get(id);
    const entry =
      live?.kind === "count" ? live : { kind: "count" as const, count: 0, expiresAt: this.#entries.now() + ttlMs };
    entry.count += by;
    this.#entries.set(id, entry);
    return entry.count;
  }

  async hitWindow(key: string, window: WindowSpec): Promise<WindowResult> {
    assertWindow(window);
    const now = this.#entries.now();
    const id = this.#id(window.kind, key);
    const live = this.#entries.get(id);
    const hit =
      window.kind === "fixed"
        ? hitFixed(live?.kind === "count" ? live : undefined, window.limit, window.windowMs, now)
        : hitSliding(live?.kind === "log" ? live : undefined, window.limit, window.windowMs, now);
    this.#entries.set(id, hit.entry);
    return hit.result;
  }

  async close(): Promise<void> {
    this.#entries.close();
  }

  /** Checks the key and that the store is open, then names the map entry. */
  #id(namespace: TtlNamespace, key: string): string {
    assertKey(key);
    if (this.#entries.closed) throw new Error("TTL store is closed");
    return namespacedKey(namespace, key);
  }

  /** An expired entry counts as already gone, as it would in Redis. */
  #delete(id: string): boolean {
    return this.#entries.get(id) !== undefined && this.#entries.delete(id);
  }
}

/** Constant-time: timingSafeEqual needs equal lengths, and an HMAC's length is no secret. */
function hashesEqual(stored: string, guess: string): boolean {
  const a = Buffer.from(stored, "utf8");
  const b = Buffer.from(guess, "utf8");
  return a.length === b.length && timingSafeEqual(a, b);
}
