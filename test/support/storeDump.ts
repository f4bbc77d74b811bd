import { expect } from "vitest";
import { connectTestRedis, scanKeys } from "./redis.js";
import type { TestServer } from "./server.js";

/** What an attacker with a copy of both stores reads: the no-plaintext tests search these. */

/** Every key name and every value under the server's prefix, whatever its type. */
export async function redisDump(server: TestServer, minimumKeys: number): Promise<string[]> {
  const redis = await connectTestRedis();
  try {
    const prefix = server.config.shortLivedStore.kind === "redis" ? server.config.shortLivedStore.keyPrefix : "";
    const keys = await scanKeys(redis, `${prefix}*`);
    // A dump of almost nothing would prove nothing.
    expect(keys.length).toBeGreaterThanOrEqual(minimumKeys);
    const dump: string[] = [...keys];
    for (const key of keys) {
      const type = await redis.type(key);
      if (type === "hash") dump.push(...Object.values(await redis.hgetall(key)));
      else if (type === "string") dump.push((await redis.get(key)) ?? "");
      else if (type === "zset") dump.push(...(await redis.zrange(key, 0, -1)));
      else if (type === "stream") dump.push(...(await redis.xrange(key, "-", "+")).flatMap(([, fields]) => fields));
      else throw new Error(`no dump for Redis type ${type} (${key})`);
    }
    return dump;
  } finally {
    redis.disconnect();
  }
}

/** Every row of every table in the server's schema, as JSON. */
export async function postgresDump(server: TestServer): Promise<string[]> {
  const db = server.server.app.stores.db;
  const tables = await db.raw<{ rows: { tablename: string }[] }>("select tablename from pg_tables where schemaname = current_schema()");
  const dump: string[] = [];
  for (const { tablename } of tables.rows) {
    const rows: unknown[] = await db(tablename).select("*");
    dump.push(...rows.map((row) => JSON.stringify(row)));
  }
  return dump;
}
