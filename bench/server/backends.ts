import { randomBytes } from "node:crypto";
import knexFactory from "knex";
import { Redis } from "ioredis";

/** real = Postgres + Redis (WORKERS as asked); embedded = PGlite in memory + in-process store (one worker). */
export type Backend = "real" | "embedded";

export const allBackends: readonly Backend[] = ["real", "embedded"];

export function databaseUrl(): string {
  return process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
}

export function redisUrl(): string {
  return process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
}

/** Host and port of a Redis URL (the first, for a Cluster's list); default the bench's REDIS_URL. */
export function redisHostPort(urls = redisUrl()): { host: string; port: number } {
  const url = new URL(urls.split(",")[0]!.trim());
  return { host: url.hostname, port: url.port === "" ? 6379 : Number(url.port) };
}

/** A run-unique tag for schemas and key prefixes, so a bench never touches anything else. */
export function benchTag(): string {
  return randomBytes(5).toString("hex");
}

/** The Postgres schema and Redis prefix of one server under test, and their removal. */
export interface RealStores {
  readonly databaseUrl: string;
  readonly schema: string;
  /** REDIS_URL: one node, or with `redisCluster` a comma-separated list of a Cluster's nodes. */
  readonly redisUrl: string;
  readonly redisCluster: boolean;
  readonly keyPrefix: string;
}

/** A Redis other than the bench's REDIS_URL: a Cluster of the bench's own, gone when the bench stops it. */
export interface OtherRedis {
  readonly url: string;
  readonly cluster: boolean;
}

export function newRealStores(label: string, redis?: OtherRedis): RealStores {
  const tag = benchTag();
  return {
    databaseUrl: databaseUrl(),
    schema: `bench_${label}_${tag}`,
    redisUrl: redis?.url ?? redisUrl(),
    redisCluster: redis?.cluster ?? false,
    keyPrefix: `bench:${label}:${tag}:`,
  };
}

export async function dropRealStores(stores: RealStores): Promise<void> {
  await dropSchema(stores.schema);
  // A Cluster of the bench's own takes its keys with it when it stops.
  if (!stores.redisCluster) await deleteRedisPrefix(stores.keyPrefix);
}

export async function dropSchema(schema: string): Promise<void> {
  const db = knexFactory({ client: "pg", connection: databaseUrl(), pool: { min: 0, max: 1 } });
  try {
    await db.raw("drop schema if exists ?? cascade", [schema]);
  } finally {
    await db.destroy();
  }
}

/** SCAN + UNLINK of every key under the prefix, in batches (never KEYS). Returns how many. */
export async function deleteRedisPrefix(prefix: string, redis?: Redis): Promise<number> {
  const client = redis ?? new Redis(redisUrl(), { lazyConnect: true, maxRetriesPerRequest: 1 });
  if (redis === undefined) await client.connect();
  let removed = 0;
  try {
    const pattern = `${prefix.replace(/[*?[\]\\]/g, "\\$&")}*`;
    let cursor = "0";
    do {
      const [next, keys] = await client.scan(cursor, "MATCH", pattern, "COUNT", 5000);
      if (keys.length > 0) removed += await client.unlink(...keys);
      cursor = next;
    } while (cursor !== "0");
  } finally {
    if (redis === undefined) client.disconnect();
  }
  return removed;
}
