import { timingSafeEqual } from "node:crypto";
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
  readonly #entries = new Map<string, Entry>();
  readonly #now: () => number;
  readonly #sweeper: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: MemoryTtlStoreOptions = {}) {
    // Looked up on each call rather than captured, so fake timers installed later still apply.
    this.#now = options.now ?? (() => Date.now());
    const sweepIntervalMs = options.sweepIntervalMs ?? 60_000;
    if (sweepIntervalMs > 0) {
      // unref: the sweep alone must never keep the process alive.
      this.#sweeper = setInterval(() => this.sweep(), sweepIntervalMs).unref();
    }
  }

  /** Entries held, expired ones included until swept or read; for tests and metrics. */
  get size(): number {
    return this.#entries.size;
  }

  /** Drops every expired entry; returns how many. */
  sweep(): number {
    const now = this.#now();
    let dropped = 0;
    for (const [key, entry] of this.#entries) {
      if (entry.expiresAt <= now) {
        this.#entries.delete(key);
        dropped += 1;
      }
    }
    return dropped;
  }

  async putSecret(key: string, secret: StoredSecret, ttlMs: number, options: PutOptions = {}): Promise<boolean> {
    assertSecret(secret);
    assertPositiveInteger("ttlMs", ttlMs);
    const id = this.#id("secret", key);
    if (options.ifAbsent === true && this.#live(id) !== undefined) return false;
    const { hash, maxAttempts, data } = secret;
    this.#entries.set(id, { kind: "secret", hash, maxAttempts, data, attempts: 0, expiresAt: this.#now() + ttlMs });
    return true;
  }

  async takeSecret(key: string, hash: string): Promise<TakeResult> {
    const id = this.#id("secret", key);
    const entry = this.#live(id);
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
    const entry = this.#live(this.#id("secret", key));
    if (entry?.kind !== "secret") return { status: "missing" };
    entry.attempts += 1;
    const { attempts, data } = entry;
    if (attempts > entry.maxAttempts) return { status: "locked", attempts, data };
    return { status: "counted", attempts, attemptsLeft: entry.maxAttempts - attempts, data };
  }

  async peekSecret(key: string): Promise<SecretState | null> {
    const entry = this.#live(this.#id("secret", key));
    if (entry?.kind !== "secret") return null;
    const { attempts, maxAttempts, data } = entry;
    return { attempts, maxAttempts, data, ttlMs: entry.expiresAt - this.#now() };
  }

  async deleteSecret(key: string): Promise<boolean> {
    return this.#delete(this.#id("secret", key));
  }

  async putValue(key: string, value: string, ttlMs: number, options: PutOptions = {}): Promise<boolean> {
    assertPositiveInteger("ttlMs", ttlMs);
    const id = this.#id("value", key);
    if (options.ifAbsent === true && this.#live(id) !== undefined) return false;
    this.#entries.set(id, { kind: "value", value, expiresAt: this.#now() + ttlMs });
    return true;
  }

  async getValue(key: string): Promise<string | null> {
    const entry = this.#live(this.#id("value", key));
    return entry?.kind === "value" ? entry.value : null;
  }

  async deleteValue(key: string): Promise<boolean> {
    return this.#delete(this.#id("value", key));
  }

  async increment(key: string, ttlMs: number, by = 1): Promise<number> {
    assertPositiveInteger("ttlMs", ttlMs);
    assertInteger("by", by);
    const id = this.#id("counter", key);
    const live = this.#live(id);
    const entry = live?.kind === "count" ? live : { kind: "count" as const, count: 0, expiresAt: this.#now() + ttlMs };
    entry.count += by;
    this.#entries.set(id, entry);
    return entry.count;
  }

  async hitWindow(key: string, window: WindowSpec): Promise<WindowResult> {
    assertWindow(window);
    const now = this.#now();
    const id = this.#id(window.kind, key);
    const live = this.#live(id);
    const hit =
      window.kind === "fixed"
        ? hitFixed(live?.kind === "count" ? live : undefined, window.limit, window.windowMs, now)
        : hitSliding(live?.kind === "log" ? live : undefined, window.limit, window.windowMs, now);
    this.#entries.set(id, hit.entry);
    return hit.result;
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#sweeper);
    this.#entries.clear();
  }

  /** Checks the key and that the store is open, then names the map entry. */
  #id(namespace: TtlNamespace, key: string): string {
    assertKey(key);
    if (this.#closed) throw new Error("TTL store is closed");
    return namespacedKey(namespace, key);
  }

  /** The entry if it has not expired; an expired one is dropped on the way (lazy expiry). */
  #live(id: string): Entry | undefined {
    const entry = this.#entries.get(id);
    if (entry === undefined) return undefined;
    if (entry.expiresAt > this.#now()) return entry;
    this.#entries.delete(id);
    return undefined;
  }

  #delete(id: string): boolean {
    return this.#live(id) !== undefined && this.#entries.delete(id);
  }
}

/** Constant-time: timingSafeEqual needs equal lengths, and an HMAC's length is no secret. */
function hashesEqual(stored: string, guess: string): boolean {
  const a = Buffer.from(stored, "utf8");
  const b = Buffer.from(guess, "utf8");
  return a.length === b.length && timingSafeEqual(a, b);
}
