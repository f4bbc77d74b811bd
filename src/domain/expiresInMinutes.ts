/**
 * The "expires in N minutes" every message shows: to the nearest minute, and never 0, since a
 * code that still works must not read as already gone. One rounding for every message, so two
 * messages about the same lifetime never disagree.
 */
export function expiresInMinutes(ttlMs: number): number {
  return Math.max(1, Math.round(ttlMs / 60_000));
}
