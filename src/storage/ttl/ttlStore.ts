/**
 * What the domain needs from the store for things that live for minutes: pending codes and
 * tokens with their attempt counters, idempotency values, counters and rate-limit windows.
 *
 * The domain owns this interface; Redis and an in-process map implement it and pass the same
 * contract suite (test/storage/ttl/ttlStore.contract.ts). Every method is one atomic step on the
 * backend, because the invariants (one winner per code, attempts counted before comparing) cannot
 * be kept by a read followed by a write from the caller.
 *
 * Keys are the caller's names; the store namespaces them per kind (a secret and a value of the same
 * key never collide) and prefixes them for the deployment.
 */
export interface TtlStore {
  /**
   * Stores a secret for `ttlMs` milliseconds, replacing any secret under the key (and resetting its
   * attempts) unless `ifAbsent` is set. Returns false only when `ifAbsent` found a live secret.
   */
  putSecret(key: string, secret: StoredSecret, ttlMs: number, options?: PutOptions): Promise<boolean>;

  /**
   * Checks a guess and consumes the secret if it matches, in one atomic step: the attempt is
   * counted first, a locked secret is not compared at all (so a correct guess after the limit still
   * fails), the comparison is constant-time, and a match deletes the secret so that of many
   * concurrent correct guesses exactly one is "consumed". The expiry is kept across attempts.
   */
  takeSecret(key: string, hash: string): Promise<TakeResult>;

  /**
   * Counts one attempt on a secret that has no code to compare here (a TOTP verification, whose
   * code is checked against the consumer's authenticator secret elsewhere), in one atomic step with
   * the same counter and limit as takeSecret: the attempt is counted before the caller checks
   * anything, so concurrent guesses cannot slip past maxAttempts. Never consumes; the expiry is kept.
   */
  countAttempt(key: string): Promise<AttemptResult>;

  /** Reads a secret's state without counting an attempt; never returns its hash. */
  peekSecret(key: string): Promise<SecretState | null>;

  /** Removes a secret (invalidate, re-issue); true if there was one. */
  deleteSecret(key: string): Promise<boolean>;

  /** Stores a plain value (idempotency keys, pending state); false when `ifAbsent` found one. */
  putValue(key: string, value: string, ttlMs: number, options?: PutOptions): Promise<boolean>;

  /** The live value under the key, or null. */
  getValue(key: string): Promise<string | null>;

  /** Removes a plain value; true if there was one. */
  deleteValue(key: string): Promise<boolean>;

  /**
   * Adds `by` (default 1) to a counter and returns the new count. The expiry is set when the
   * counter is created and never extended, so the counter measures a fixed period.
   */
  increment(key: string, ttlMs: number, by?: number): Promise<number>;

  /**
   * Records one hit in a rate-limit window if the window has room. A denied hit is not recorded,
   * so hammering cannot extend its own lockout and memory stays bounded by `limit`.
   */
  hitWindow(key: string, window: WindowSpec): Promise<WindowResult>;

  /** Releases the backend; further calls reject. Calling it twice is harmless. */
  close(): Promise<void>;
}

/** What is kept for a secret. The store never sees the plaintext. */
export interface StoredSecret {
  /** Keyed hash (HMAC with the server secret) of the secret, computed by the caller. */
  readonly hash: string;
  /** Guesses allowed; the next one finds the secret locked. A positive integer. */
  readonly maxAttempts: number;
  /** Opaque to the store (the caller's record as JSON), handed back on every read. */
  readonly data: string;
}

export interface PutOptions {
  /** Write only if the key holds nothing live, as a "one at a time" guard. Default false. */
  readonly ifAbsent?: boolean;
}

export type TakeResult =
  | { readonly status: "missing" }
  | { readonly status: "consumed"; readonly attempts: number; readonly data: string }
  | {
      readonly status: "mismatch";
      readonly attempts: number;
      /** Guesses still allowed before the secret locks; 0 means the next one will be refused. */
      readonly attemptsLeft: number;
      readonly data: string;
    }
  | { readonly status: "locked"; readonly attempts: number; readonly data: string };

export type AttemptResult =
  | { readonly status: "missing" }
  | {
      readonly status: "counted";
      readonly attempts: number;
      /** Attempts still allowed after this one; 0 means the next one will be refused. */
      readonly attemptsLeft: number;
      readonly data: string;
    }
  /** Past maxAttempts: the caller must not check the code at all. */
  | { readonly status: "locked"; readonly attempts: number; readonly data: string };

export interface SecretState {
  readonly attempts: number;
  readonly maxAttempts: number;
  readonly data: string;
  /**
   * Milliseconds until the secret expires, measured by the backend's clock. Relative rather than
   * an instant so that a Redis clock and an instance clock never have to agree; the caller adds it
   * to its own now.
   */
  readonly ttlMs: number;
}

export interface WindowSpec {
  /** Hits allowed per window; a positive integer. */
  readonly limit: number;
  /** Window length in milliseconds; a positive integer. */
  readonly windowMs: number;
  /**
   * "fixed": the window starts at the first hit and resets when it ends (cheap, allows a burst
   * of up to 2 × limit across a boundary). "sliding": counts hits in the last `windowMs` exactly.
   */
  readonly kind: "fixed" | "sliding";
}

export interface WindowResult {
  readonly allowed: boolean;
  /** Hits counted in the window, including this one when allowed. */
  readonly count: number;
  /** 0 when allowed; otherwise how long until a hit would be allowed (at least 1). */
  readonly retryAfterMs: number;
}
