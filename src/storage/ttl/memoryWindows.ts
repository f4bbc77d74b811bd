import type { WindowResult } from "./ttlStore.js";

/*
 * Rate-limit windows for the in-process store, as pure functions of the entry and the clock, with
 * the same boundaries as the Redis scripts: an entry lives while now < expiresAt, and a sliding
 * hit at t counts while now - windowMs < t.
 */

export interface CountEntry {
  readonly kind: "count";
  count: number;
  readonly expiresAt: number;
}

export interface LogEntry {
  readonly kind: "log";
  /** Hit times, ascending; never more than the limit, since denied hits are not recorded. */
  hits: number[];
  expiresAt: number;
}

/** `entry` is the live window or undefined; returns the entry to keep (new or updated in place). */
export function hitFixed(
  entry: CountEntry | undefined,
  limit: number,
  windowMs: number,
  now: number,
): { entry: CountEntry; result: WindowResult } {
  const current = entry ?? { kind: "count", count: 0, expiresAt: now + windowMs };
  if (current.count >= limit) {
    return { entry: current, result: denied(current.count, current.expiresAt - now) };
  }
  current.count += 1;
  return { entry: current, result: { allowed: true, count: current.count, retryAfterMs: 0 } };
}

export function hitSliding(
  entry: LogEntry | undefined,
  limit: number,
  windowMs: number,
  now: number,
): { entry: LogEntry; result: WindowResult } {
  const current = entry ?? { kind: "log", hits: [], expiresAt: now + windowMs };
  current.hits = current.hits.filter((hit) => hit > now - windowMs);
  const count = current.hits.length;
  if (count >= limit) {
    // Room appears when the hit at count - limit leaves (the oldest, unless the limit was lowered).
    const blocking = current.hits[count - limit] ?? now;
    return { entry: current, result: denied(count, Math.ceil(blocking + windowMs - now)) };
  }
  current.hits.push(now);
  // A clock that stepped back could put this hit before others; keep the log ordered.
  current.hits.sort((a, b) => a - b);
  current.expiresAt = Math.max(current.expiresAt, now + windowMs);
  return { entry: current, result: { allowed: true, count: count + 1, retryAfterMs: 0 } };
}

function denied(count: number, retryAfterMs: number): WindowResult {
  return { allowed: false, count, retryAfterMs: Math.max(retryAfterMs, 1) };
}
