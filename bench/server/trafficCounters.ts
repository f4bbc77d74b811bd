import { Redis } from "ioredis";
import type { RealStores } from "./backends.js";

/**
 * The traffic counters a real-backend server keeps in Redis (src/storage/sendLimitKeyspace.ts:
 * `traffic:{channel}:<pool>:global`, `traffic:{channel:country}:<pool>:…`), by key without the server's prefix:
 * a counter's value, or a conversion hash's fields (`sends`, `validated`). What shows that a run
 * was charged to the rules it claims to run, and how far the conversion guard's counts got.
 */
export type TrafficCounters = Readonly<Record<string, number | Readonly<Record<string, number>>>>;

/** Reads every traffic key under the server's prefix (SCAN, never KEYS); a Cluster's are not read (empty). */
export async function readTrafficCounters(stores: RealStores): Promise<TrafficCounters> {
  if (stores.redisCluster) return {};
  const client = new Redis(stores.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await client.connect();
  const counters: Record<string, number | Record<string, number>> = {};
  try {
    const pattern = `${stores.keyPrefix.replace(/[*?[\]\\]/g, "\\$&")}traffic:*`;
    let cursor = "0";
    do {
      const [next, keys] = await client.scan(cursor, "MATCH", pattern, "COUNT", 5000);
      for (const key of keys) {
        const name = key.slice(stores.keyPrefix.length);
        if ((await client.type(key)) === "hash") {
          const fields = await client.hgetall(key);
          counters[name] = Object.fromEntries(Object.entries(fields).map(([field, value]) => [field, Number(value)]));
        } else {
          counters[name] = Number(await client.get(key));
        }
      }
      cursor = next;
    } while (cursor !== "0");
  } finally {
    client.disconnect();
  }
  return counters;
}

/**
 * Each key's highest value in either reading (a conversion hash field by field). Read after each
 * window: a per-minute counter's window may have ended, and its key gone, by the time a later
 * reading comes.
 */
export function highestCounters(earlier: TrafficCounters, later: TrafficCounters): TrafficCounters {
  const merged: Record<string, number | Readonly<Record<string, number>>> = { ...earlier };
  for (const [key, value] of Object.entries(later)) {
    const before = merged[key];
    if (typeof value === "number") merged[key] = typeof before === "number" ? Math.max(before, value) : value;
    else if (typeof before === "object") {
      const fields: Record<string, number> = { ...before };
      for (const [field, count] of Object.entries(value)) fields[field] = Math.max(fields[field] ?? 0, count);
      merged[key] = fields;
    } else merged[key] = value;
  }
  return merged;
}

/**
 * One line of what was charged, each counter named with its pool when it has one: e.g.
 * `email account 9800` or `public country conv 5400/5368 used, public prefix conv 5400/5368 used, sms public 5400`.
 */
export function describeTrafficCounters(counters: TrafficCounters): string {
  const said: string[] = [];
  for (const [key, value] of Object.entries(counters).sort(([a], [b]) => a.localeCompare(b))) {
    const global = /^traffic:\{(\w+)\}:(?:(\w+):)?global$/.exec(key);
    if (global !== null && typeof value === "number") said.push(`${global[1]}${global[2] === undefined ? "" : ` ${global[2]}`} ${value}`);
    const conversion = /^traffic:\{[\w:]+\}:(?:(\w+):)?conv:(prefix|country)/.exec(key);
    if (conversion !== null && typeof value === "object") {
      said.push(`${conversion[1] === undefined ? "" : `${conversion[1]} `}${conversion[2]} conv ${value.sends ?? 0}/${value.validated ?? 0} used`);
    }
  }
  return said.length === 0 ? "none" : said.join(", ");
}
