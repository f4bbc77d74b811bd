/**
 * For warnings a caller can set off at will (any client picks its Origin; any scanner speaks TLS
 * to a port): answers true the first time a key is seen in each interval, for at most `maxKeys`
 * keys per interval, so a flood of made-up keys costs a bounded number of log lines.
 */
export function onceEvery(intervalMs: number, maxKeys: number, now: () => number = Date.now): (key: string) => boolean {
  let windowStart = -Infinity;
  const seen = new Set<string>();
  return (key) => {
    const at = now();
    if (at - windowStart >= intervalMs) {
      windowStart = at;
      seen.clear();
    }
    if (seen.has(key) || seen.size >= maxKeys) return false;
    seen.add(key);
    return true;
  };
}
