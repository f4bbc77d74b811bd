import type { Knex } from "knex";
import { Gauge, type Registry } from "prom-client";
import { asDependencyFailure } from "../errors/dependencyFailure.js";
import { createSeriesHistogram, type HistogramSeries } from "./seriesHistogram.js";
import type { StoreOperation } from "./storeCalls.js";

type OperationLabels = "db_system_name" | "db_operation_name" | "db_query_summary" | "error_type";

/**
 * The stores as /metrics sees them: every Redis command and Postgres statement in one histogram
 * after OpenTelemetry's `db.client.operation.duration` (its `_count` is the number of commands,
 * those with `error_type` the failures), and the queues in front of each store, read at scrape time.
 */
export interface StoreMetrics {
  observe(operation: StoreOperation, seconds: number, error?: unknown): void;
  /** Reports the Postgres pool: connections used, free, and acquisitions waiting for one. */
  watchPostgresPool(db: Knex): void;
  /** Reports how many Redis commands were sent and await their reply, from `pending()`. */
  watchRedisCommands(pending: () => number): void;
}

interface TarnPool {
  numUsed(): number;
  numFree(): number;
  numPendingAcquires(): number;
}

export function createStoreMetrics(registry: Registry): StoreMetrics {
  const duration = createSeriesHistogram<OperationLabels>(registry, {
    name: "db_client_operation_duration_seconds",
    help: "Redis commands and Postgres statements, by db.system.name (redis, postgresql), operation, summary (script or table) and error.type (only on failures: unavailable when the store could not be reached, else SQLSTATE, Redis error prefix or class); _count is the number of operations.",
    labelNames: ["db_system_name", "db_operation_name", "db_query_summary", "error_type"],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  });
  const labelsOf = (operation: StoreOperation) => ({ db_system_name: operation.system, db_operation_name: operation.name, db_query_summary: operation.summary });
  // Stores describe each command once (a script, a statement), so its series is found once.
  const succeeded = new WeakMap<StoreOperation, HistogramSeries>();
  return {
    observe(operation, seconds, error) {
      if (error !== undefined) {
        duration.series({ ...labelsOf(operation), error_type: errorType(error) }).observe(seconds);
        return;
      }
      let series = succeeded.get(operation);
      if (series === undefined) succeeded.set(operation, (series = duration.series(labelsOf(operation))));
      series.observe(seconds);
    },
    watchPostgresPool(db) {
      new Gauge({
        name: "onetime_postgres_pool_connections",
        help: "Postgres pool of this process: connections used, free, and acquisitions waiting for one (state). Waiting above zero for long means DATABASE_POOL_MAX (or Postgres) is the bottleneck.",
        labelNames: ["state"],
        registers: [registry],
        collect() {
          const pool = (db.client as { pool?: TarnPool }).pool;
          if (pool === undefined) return;
          this.set({ state: "used" }, pool.numUsed());
          this.set({ state: "free" }, pool.numFree());
          this.set({ state: "waiting" }, pool.numPendingAcquires());
        },
      });
    },
    watchRedisCommands(pending) {
      new Gauge({
        name: "onetime_redis_commands_pending",
        help: "Redis commands this process sent that await their reply (every connection of a Cluster client). Growing means Redis, or the network to it, is the bottleneck.",
        registers: [registry],
        collect() {
          this.set(pending());
        },
      });
    },
  };
}

/**
 * A label with few values, as `error.type` asks: `unavailable` for a store that could not be
 * reached (what calls then answer, whichever store and however it failed), else a Postgres
 * SQLSTATE as given, a Redis error reply by its prefix (`NOSCRIPT`, `BUSY`), or the error's class.
 */
function errorType(error: unknown): string {
  if (asDependencyFailure(error) !== undefined) return "unavailable";
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === "string" && /^[A-Z0-9_]{1,24}$/.test(code)) return code;
  if (error instanceof Error && error.name === "ReplyError") {
    const prefix = /^([A-Z]{2,16})\b/.exec(error.message)?.[1];
    if (prefix !== undefined) return prefix;
  }
  return error instanceof Error ? error.name : "unknown";
}
