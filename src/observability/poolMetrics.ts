import type { Knex } from "knex";
import { Gauge, type Registry } from "prom-client";

interface TarnPool {
  numUsed(): number;
  numFree(): number;
  numPendingAcquires(): number;
}

/**
 * The Postgres pool as /metrics is scraped: connections in use, idle, and calls waiting for one.
 * Waiting above zero for long means DATABASE_POOL_MAX (or Postgres) is the bottleneck.
 */
export function registerPoolMetrics(registry: Registry, db: Knex): void {
  new Gauge({
    name: "onetime_postgres_pool_connections",
    help: "Postgres pool of this process: connections used, free, and acquisitions waiting for one (state).",
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
}
