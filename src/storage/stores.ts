import { Redis } from "ioredis";
import type { Config } from "../config/config.js";
import type { Logger } from "../observability/logger.js";
import type { AuditLog } from "./auditLog.js";
import { openDatabase, type Database } from "./sql/database.js";
import { sqlAuditLog } from "./sql/sqlAuditLog.js";
import { MemoryTtlStore } from "./ttl/memoryTtlStore.js";
import { RedisTtlStore } from "./ttl/redisTtlStore.js";
import type { TtlStore } from "./ttl/ttlStore.js";

/** Everything that keeps state, opened together and closed together. */
export interface Stores {
  readonly db: Database;
  readonly ttl: TtlStore;
  readonly auditLog: AuditLog;
  close(): Promise<void>;
}

/**
 * Opens Postgres (or PGlite) and Redis (or the in-process store). A store that cannot be reached
 * at start is a failed start: serving without it could only answer `unavailable`.
 */
export async function openStores(config: Config, logger: Logger): Promise<Stores> {
  const db = await openDatabase(config.database);
  let ttl: TtlStore;
  try {
    ttl = config.ttlStore.kind === "redis" ? await openRedisStore(config.ttlStore, logger) : new MemoryTtlStore();
  } catch (error) {
    await db.destroy();
    throw error;
  }
  return {
    db,
    ttl,
    auditLog: sqlAuditLog(db),
    async close() {
      await Promise.allSettled([ttl.close(), db.destroy()]);
    },
  };
}

async function openRedisStore(config: { readonly url: string; readonly keyPrefix: string }, logger: Logger): Promise<TtlStore> {
  const redis = new Redis(config.url, {
    lazyConnect: true,
    connectTimeout: 5_000,
    commandTimeout: 2_000,
    // Fail fast while disconnected instead of queueing: a caller waiting on a code check would
    // rather get `unavailable` now than a late answer.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
  });
  // ioredis reconnects by itself; without a listener each failure would be an unhandled event.
  redis.on("error", (error: Error) => logger.warn({ err: error }, "redis connection error"));
  try {
    await redis.connect();
    await redis.ping();
  } catch (error) {
    redis.disconnect();
    throw new Error(`Redis at ${redactedUrl(config.url)} is not reachable`, { cause: error });
  }
  return new RedisTtlStore({ redis, keyPrefix: config.keyPrefix });
}

function redactedUrl(raw: string): string {
  const url = new URL(raw);
  if (url.password !== "") url.password = "***";
  return url.toString();
}
