import { randomBytes } from "node:crypto";
import { Cluster, Redis } from "ioredis";
import { inject } from "vitest";
import { clusterNodes } from "../../src/storage/redis/redisClient.js";

/** The Redis the tests use: REDIS_URL, or a local one on the default port. */
export function testRedisUrl(): string {
  return process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
}

/** A key prefix no other test file (or run) shares, so files can run in parallel on one Redis. */
export function uniqueTestPrefix(label: string): string {
  return `test:${label}:${randomBytes(6).toString("hex")}:`;
}

/**
 * A connected client that fails fast: a missing Redis must fail the tests with a clear message,
 * never skip them, and never hang while ioredis retries in the background.
 */
export async function connectTestRedis(): Promise<Redis> {
  const url = testRedisUrl();
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 2_000,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    // No reconnecting: a test that loses Redis should fail, not wait.
    retryStrategy: () => null,
  });
  // Kept for the message: connect() itself only says "Connection is closed", not why.
  let lastError: unknown;
  redis.on("error", (error: unknown) => {
    lastError = error;
  });
  try {
    await redis.connect();
    await redis.ping();
  } catch (error) {
    redis.disconnect();
    const cause = lastError ?? error;
    throw new Error(
      `Redis is not reachable at ${url}; start it (\`redis-server --daemonize yes\`) ` +
        `or point REDIS_URL at one (${String(cause)})`,
      { cause },
    );
  }
  return redis;
}

/** The run's Redis Cluster (see globalSetup.ts), as REDIS_URL lists it with REDIS_CLUSTER=true. */
export function testClusterUrls(): readonly string[] {
  return inject("redisClusterUrls");
}

/** A client of the run's Redis Cluster, failing fast like connectTestRedis. */
export async function connectTestCluster(): Promise<Cluster> {
  const cluster = new Cluster(
    clusterNodes(testClusterUrls()),
    { lazyConnect: true, enableOfflineQueue: false, redisOptions: { connectTimeout: 2_000, maxRetriesPerRequest: 1 } },
  );
  cluster.on("error", () => {});
  await cluster.connect();
  return cluster;
}

/** Every key under the prefix, found with SCAN (never KEYS, which blocks the server); on Cluster, on every primary. */
export async function scanKeys(redis: Redis | Cluster, pattern: string): Promise<string[]> {
  if (redis instanceof Cluster) return (await Promise.all(redis.nodes("master").map((node) => scanKeys(node, pattern)))).flat();
  const keys: string[] = [];
  let cursor = "0";
  do {
    const [next, batch] = await redis.scan(cursor, "MATCH", pattern, "COUNT", 500);
    keys.push(...batch);
    cursor = next;
  } while (cursor !== "0");
  return keys;
}

/** Removes every key under the prefix; UNLINK frees memory off the main thread. */
export async function deleteKeysWithPrefix(redis: Redis | Cluster, prefix: string): Promise<number> {
  const keys = await scanKeys(redis, `${escapeGlob(prefix)}*`);
  // One key per UNLINK on Cluster: keys of different slots cannot share a command.
  if (redis instanceof Cluster) await Promise.all(keys.map((key) => redis.unlink(key)));
  else if (keys.length > 0) await redis.unlink(...keys);
  return keys.length;
}

/** SCAN MATCH treats *, ?, [ and \ as glob syntax; a prefix must match only itself. */
export function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, "\\$&");
}
