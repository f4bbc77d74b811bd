export interface ExpiringEntriesOptions {
  /** Current time in epoch milliseconds; tests inject a fake clock. Default `Date.now()`. */
  readonly now?: () => number;
  /** How often expired entries are dropped in the background; 0 turns it off. Default 60_000. */
  readonly sweepIntervalMs?: number;
}

/**
 * The expiring map behind the in-process stores, with the Redis scripts' boundary: an entry lives
 * while now < expiresAt. Expiry is lazy on read; the periodic sweep exists only so keys written once
 * and never read again do not pile up.
 */
export class ExpiringEntries<V extends { readonly expiresAt: number }> {
  readonly #entries = new Map<string, V>();
  readonly #now: () => number;
  readonly #sweeper: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: ExpiringEntriesOptions = {}) {
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

  /** The owner checks this itself, so each store keeps its own error message. */
  get closed(): boolean {
    return this.#closed;
  }

  now(): number {
    return this.#now();
  }

  /**
   * The entry if it has not expired; an expired one is dropped on the way. `now` lets an operation
   * judge every entry it touches against one instant, however the clock moves meanwhile.
   */
  get(key: string, now: number = this.#now()): V | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt > now) return entry;
    this.#entries.delete(key);
    return undefined;
  }

  set(key: string, entry: V): void {
    this.#entries.set(key, entry);
  }

  delete(key: string): boolean {
    return this.#entries.delete(key);
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

  /** Stops the sweep and forgets everything. Calling it twice is harmless. */
  close(): void {
    this.#closed = true;
    clearInterval(this.#sweeper);
    this.#entries.clear();
  }
}
