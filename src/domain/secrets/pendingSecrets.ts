import type { QueuedMessage } from "../messages/messageDelivery.js";
import type { StoreWork } from "../storeWork.js";

/**
 * Where one-time secrets wait to be redeemed: a keyed hash of each secret with its attempt counter,
 * its caller's record, and the message that delivers it. Lives for minutes (Redis, or process
 * memory on the embedded defaults).
 *
 * A message lives where its secret lives: `put` stores the secret and queues its message in one
 * atomic step, and the queue hands a message out only while the very secret it was queued with is
 * still there. So a secret that expired, was redeemed, replaced or revoked, or was lost with a
 * store restart, is never sent.
 *
 * Every method is one atomic step on the backend (one Lua script on Redis): the invariants (one
 * winner per code, attempts counted before comparing) cannot be kept by a read and a write from the
 * caller. Implementations pass test/storage/pendingSecrets.contract.ts.
 *
 * A method given `work` bounds its command together with the work's others (see storeWork.ts).
 */
export interface PendingSecrets {
  /**
   * Stores a secret for `ttlMs` and queues `options.message` with it, together. Replaces any secret
   * under the key (its attempts start over, and a message queued for the old one is never sent)
   * unless `ifAbsent` is set. Returns false, having changed nothing, only when `ifAbsent` found a
   * live secret. `ttlMs` is at most 7 days (longestSecretTtlMs): the Redis queue trims entries
   * older than that.
   */
  put(key: string, secret: StoredSecret, ttlMs: number, options?: PutOptions, work?: StoreWork): Promise<boolean>;

  /**
   * Checks a guess and consumes the secret if it matches, in one atomic step: the attempt is
   * counted first, a locked secret is not compared at all (so a correct guess after the limit still
   * fails), the comparison is constant-time, and a match deletes the secret so that of many
   * concurrent correct guesses exactly one is "consumed". The expiry is kept across attempts.
   */
  take(key: string, hash: string, work?: StoreWork): Promise<TakeResult>;

  /** Reads a secret's state without counting an attempt; never returns its hash. */
  peek(key: string): Promise<SecretState | null>;

  /**
   * Removes a secret (and so its unsent message); true if there was one. With `only`, removes it
   * only if its `data` is exactly `only.data`: how a caller undoes its own put whose outcome it
   * does not know (the call threw after the script was sent) without removing a secret that a
   * concurrent request stored under the same key meanwhile. Data sealed with a random IV is unique
   * per put, so it names the put.
   */
  revoke(key: string, only?: RevokeCondition, work?: StoreWork): Promise<boolean>;

  /** Releases the backend; further calls reject. Calling it twice is harmless. */
  close(): Promise<void>;
}

/** What is kept for a secret. The store never sees the plaintext. */
export interface StoredSecret {
  /** Keyed hash (HMAC with the server secret) of the secret, computed by the caller. */
  readonly hash: string;
  /** Guesses allowed; the next one finds the secret locked. A positive integer. */
  readonly maxAttempts: number;
  /** Opaque to the store (the caller's sealed record), handed back on every read. */
  readonly data: string;
}

/** Which secret `revoke` may remove: the one holding exactly this data. */
export interface RevokeCondition {
  readonly data: string;
}

export interface PutOptions {
  /** Write only if the key holds nothing live, as a "one at a time" guard. Default false. */
  readonly ifAbsent?: boolean;
  /** The message that delivers this secret; it expires with the secret. */
  readonly message?: QueuedMessage;
}

export type TakeResult =
  | { readonly status: "missing" }
  | {
      readonly status: "consumed";
      readonly attempts: number;
      readonly data: string;
      /** What putting it back as it was takes (see OneTimeSecrets' undo): its limit and time left. */
      readonly maxAttempts: number;
      readonly ttlMs: number;
    }
  | {
      readonly status: "mismatch";
      readonly attempts: number;
      /** Guesses still allowed before the secret locks; 0 means the next one will be refused. */
      readonly attemptsLeft: number;
      readonly data: string;
    }
  | { readonly status: "locked"; readonly attempts: number; readonly data: string };

export interface SecretState {
  readonly attempts: number;
  readonly maxAttempts: number;
  readonly data: string;
  /**
   * Milliseconds until the secret expires, by the backend's clock: relative, so that a Redis clock
   * and an instance clock never have to agree; the caller adds it to its own now.
   */
  readonly ttlMs: number;
}
