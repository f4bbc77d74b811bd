export interface RetryPolicy {
  /** First retry waits up to this long. */
  readonly baseDelayMs: number;
  /** No retry waits longer than this. */
  readonly maxDelayMs: number;
}

export const defaultRetryPolicy: RetryPolicy = { baseDelayMs: 1_000, maxDelayMs: 5 * 60_000 };

/**
 * Exponential backoff with full jitter: a random wait up to base * 2^(attempt-1), capped, so
 * relays retrying after a provider outage do not all come back at the same instant. A provider's
 * own Retry-After is a floor.
 */
export function retryDelayMs(policy: RetryPolicy, attempt: number, retryAfterMs = 0, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.max(retryAfterMs, Math.floor(random() * ceiling));
}
