import type { StoreWork } from "../storeWork.js";

/**
 * Send limits: decides whether a secret may be sent to a subject now, and charges for it, in one atomic step.
 *
 * Why one step: the checks (idempotency, send window, resend wait, guess budget) and the charges
 * depend on each other. Done as separate calls, two concurrent requests could both pass the
 * checks before either charged, and a request refused by a later check would still have paid for
 * the earlier ones. So a backend decides and charges all or nothing: on Redis one script over keys
 * that share the `{scope}` hash tag (one slot, so it runs on Cluster); in memory one synchronous
 * function.
 *
 * Why a guess budget: a verification allows a few guesses, and starting a new one must not buy
 * more. Each admitted send reserves its guesses out of a budget per consumer shared by every
 * method, so the guesses an attacker gets per window are bounded however many verifications they
 * start.
 *
 * The domain owns this interface; Redis and an in-process map implement it and pass the same
 * contract suite (test/storage/sendLimits.contract.ts). Windows are measured by the
 * backend's clock, never the instance's. A method given `work` bounds its commands together with
 * the work's others (see storeWork.ts).
 */
export interface SendLimits {
  /**
   * Checks, in order, idempotency (a replay, in_progress or conflict answer charges nothing), the
   * send window and resend wait, the guess budget (its window, its long window, the run of wrong
   * guesses), then the traffic; if all pass, counts the send, reserves the guesses, charges the
   * traffic and marks the idempotency key pending, together.
   */
  admit(request: SendRequest, work?: StoreWork): Promise<SendDecision>;

  /**
   * Stores the answer for an admitted idempotency key, keeping the key's expiry, so a retry with
   * the same fingerprint replays it instead of sending again. Does nothing if the key now holds
   * another fingerprint; if the key expired meanwhile it is stored afresh for `ttlMs`. One round trip.
   */
  completeIdempotency(scope: string, key: string, fingerprint: string, answer: string, ttlMs: number, work?: StoreWork): Promise<void>;

  /**
   * Forgets a pending idempotency key after a failed attempt, so a retry can run again. Only a
   * pending key with this fingerprint is removed: a completed answer stays. One round trip.
   */
  releaseIdempotency(scope: string, key: string, fingerprint: string, work?: StoreWork): Promise<void>;

  /**
   * Gives back what an admitted send charged when its secret was never handed out (the issue
   * failed after admit): a consumer must not wait out a resend delay, or lose a send of its
   * window, for a code it never got. In one atomic step:
   * - the guesses: the budget never goes below 0, so a refund that lands in a later window (the
   *   old one expired) gives back at most what that window has charged;
   * - the send, only if the bucket's count still equals `sendNumber` (no later send was admitted,
   *   whose charge and wait must stand): the count goes down by one and the last send time goes
   *   back to the send before it (admit keeps it for this). A refunded first send ends the window.
   *   Should two refunds follow each other, the second restores the same time as the first: a
   *   wait may come out longer than it would have been, never shorter. The check is by count
   *   alone: should the window expire and a new one reach the same count between admit and refund
   *   (an issue lasts milliseconds, a window minutes), that send is the one given back.
   * One round trip.
   */
  refund(scope: string, bucket: string, refund: SendRefund, work?: StoreWork): Promise<void>;

  /**
   * Counts how a guess at a secret of this scope ended, for the ceiling on consecutive failures
   * (GuessBudget.streak): a wrong guess adds one to the scope's run of failures (which then lasts
   * `streakWindowMs` from this failure), a right one ends the run. One round trip.
   */
  recordGuess(scope: string, outcome: "wrong" | "right", streakWindowMs: number, work?: StoreWork): Promise<void>;

  /**
   * Counts a code that was validated against the sends to its area (TrafficArea.conversion), in
   * the windows those sends opened; a window that has ended is left alone. One round trip.
   */
  recordConversion(traffic: TrafficRequest, work?: StoreWork): Promise<void>;

  /** Releases the backend (and its client when owned); further calls reject. Calling it twice is harmless. */
  close(): Promise<void>;
}

export interface SendRefund {
  /** Guesses to give back to the scope's budget: the send's reservedGuesses; 0 or more. */
  readonly guesses: number;
  /**
   * The refunded send's number, as admit answered it; a positive integer. Absent: the send stays
   * charged (its secret may be out after all) and only the guesses come back.
   */
  readonly sendNumber?: number;
  /** The traffic the send was charged to (its request's `traffic`): every counter goes down by what admit added. */
  readonly traffic?: TrafficRequest;
}

export interface SendRequest {
  /**
   * Keyed hash of the consumer, never the address itself, so Redis holds no personal data. Every
   * key of a call carries it as the hash tag `{scope}`, so it must not contain braces.
   */
  readonly scope: string;
  /** Which send limit applies: the verification method ("email" | "phone" | "totp"). */
  readonly bucket: string;
  /** Optional client idempotency: the same key with the same fingerprint replays the stored answer. */
  readonly idempotency?: IdempotencyRequest;
  /** Send limit per scope and bucket. */
  readonly sends: SendLimit;
  /** Guess budget per scope, shared by all buckets. */
  readonly guesses: GuessBudget;
  /**
   * Limits on what reaches a whole channel, country or number prefix, whoever the destination
   * (SMS pumping spreads over many numbers, each under its own limits). Checked after the scope's
   * own limits pass and charged together with them: a refusal by either charges nothing.
   */
  readonly traffic?: TrafficRequest;
}

export const hourMs = 3_600_000;
export const dayMs = 86_400_000;

/** A count per window; the window is fixed, starting at the first charge. */
export interface WindowLimit {
  /** A positive integer. */
  readonly limit: number;
  /** A positive integer. */
  readonly windowMs: number;
}

export interface TrafficRequest {
  /** The channel: "sms", "email". */
  readonly channel: string;
  /**
   * Whose counters these are (lowercase letters): each pool's are its own, so sends of one pool
   * never use up another's caps. Absent: the channel's unpooled counters.
   */
  readonly pool?: string;
  /** Sends through the channel per window, every destination together; absent: none. */
  readonly global?: WindowLimit;
  /** The destination's country and number prefix (SMS); absent for channels without them. */
  readonly area?: TrafficArea;
}

export interface TrafficArea {
  /** ISO 3166 code, or "international" for non-geographic networks. Names keys, so no braces. */
  readonly country: string;
  /** The number's prefix (country code and first digits) as a keyed hash, naming its counters. */
  readonly prefix: string;
  /** Sends per prefix per window; absent: none. */
  readonly prefixLimit?: WindowLimit;
  /** Sends per country per window; absent: none. */
  readonly countryLimit?: WindowLimit;
  /**
   * Spend per country: what this message costs and the budgets it must fit (one unit, e.g.
   * micro-dollars, or 1 per message without a price table). Hourly and daily (hourMs, dayMs) windows are fixed,
   * starting at the first charge. Absent budgets: none.
   */
  readonly spend?: { readonly cost: number; readonly hourly?: number; readonly daily?: number };
  /**
   * The pumping signature: once a prefix (or the country) has `prefixMinSends` (`countryMinSends`)
   * sends in the window and fewer than `minRatio` of them were validated (recordConversion), new
   * sends there are refused until the ratio recovers or the window ends. Absent: not checked.
   */
  readonly conversion?: {
    readonly windowMs: number;
    /** From 0 to 1. */
    readonly minRatio: number;
    readonly prefixMinSends: number;
    readonly countryMinSends: number;
  };
}

/** Which traffic rule refused a send. */
export type TrafficRule =
  | "channel_rate"
  | "prefix_rate"
  | "country_rate"
  | "hourly_budget"
  | "daily_budget"
  | "prefix_conversion"
  | "country_conversion";

export interface IdempotencyRequest {
  /** The client's key, at most 128 characters (it becomes part of a Redis key). */
  readonly key: string;
  /** Digest of the request; the same key with another fingerprint is a conflict, not a replay. */
  readonly fingerprint: string;
  /** How long the key (pending, then with its answer) is kept; a positive integer. */
  readonly ttlMs: number;
}

export interface SendLimit {
  /** Sends allowed per window; a positive integer. */
  readonly limit: number;
  /** Window length; the window is fixed, starting at the first send. A positive integer. */
  readonly windowMs: number;
  /** Wait between the first and the second send in a window; doubles for each further send. */
  readonly firstResendDelayMs: number;
  /** Cap on the doubling wait. */
  readonly maxResendDelayMs: number;
}

export interface GuessBudget {
  /** Guesses per window; a positive integer. */
  readonly limit: number;
  /** Window length; fixed, starting at the first reservation. A positive integer. */
  readonly windowMs: number;
  /** Guesses each admitted send reserves (fewer when fewer remain); a positive integer. */
  readonly reserve: number;
  /** A second, longer window the same reservations count against (a day); absent: none. */
  readonly long?: WindowLimit;
  /**
   * Ceiling on consecutive wrong guesses (recordGuess): at `limit` failures in a row, no send is
   * admitted until a right guess ends the run or `windowMs` passes after the last failure, and a
   * send near it reserves no more than the failures left before it. Absent: none.
   */
  readonly streak?: WindowLimit;
}

export type SendDecision =
  | {
      readonly status: "admitted";
      /** 1 for the first send in the window. */
      readonly sendNumber: number;
      /**
       * Wait before the next send would pass the send limit: the resend wait, or what is left of
       * the window when that is sooner (a new window has no wait) or when the window is now full.
       */
      readonly nextSendInMs: number;
      /** Guesses the new verification may use: min(reserve, remaining in the budget). */
      readonly reservedGuesses: number;
    }
  /** The key was completed earlier with the same fingerprint: its stored answer. */
  | { readonly status: "replay"; readonly answer: string }
  /** Same key and fingerprint, but the first call has not completed (or released) it yet. */
  | { readonly status: "in_progress" }
  /** Same key, another fingerprint: a client bug or a reused key, never replayed. */
  | { readonly status: "conflict" }
  /** The send window is full; retry when it ends. */
  | { readonly status: "send_limit"; readonly retryAfterMs: number }
  /** The resend wait is not over. */
  | { readonly status: "too_soon"; readonly retryAfterMs: number }
  /** No guess left in the budget's window (or its long window). */
  | { readonly status: "guess_budget"; readonly retryAfterMs: number }
  /** The run of consecutive wrong guesses reached its ceiling. */
  | { readonly status: "guess_streak"; readonly retryAfterMs: number }
  /** A traffic rule refused: the scope's own limits passed, but the channel, country or prefix is full. */
  | { readonly status: "traffic"; readonly rule: TrafficRule; readonly retryAfterMs: number };

/**
 * The wait the n-th send of a window (n >= 2) must leave after the previous one:
 * min(maxResendDelayMs, firstResendDelayMs * 2^(n-2)). The exponent is capped so the product
 * stays finite (and 0 stays 0); the Redis script computes the same.
 */
export function resendDelayMs(sends: SendLimit, sendNumber: number): number {
  if (sendNumber < 2) return 0;
  return Math.min(sends.maxResendDelayMs, sends.firstResendDelayMs * 2 ** Math.min(sendNumber - 2, 60));
}
