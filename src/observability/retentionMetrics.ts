import { Counter, Gauge, type Registry } from "prom-client";
import { PURGE_TASKS, type PurgeTask } from "../retention/retentionStore.js";

/** What a purge round ended as: it purged, another instance held the lock, or it failed. */
export type PurgeOutcome = "purged" | "busy" | "failed";

export interface RetentionMetrics {
  rounds(outcome: PurgeOutcome): void;
  purged(task: PurgeTask, rows: number): void;
  /** The end of a round that purged everything it was due to, in ms since the epoch. */
  succeeded(atMs: number): void;
}

/**
 * The retention purge's own figures: rows purged per table (a rate that keeps up with the rows
 * public calls insert), rounds by outcome (failed ones are errors), and when a round last
 * succeeded on any instance (an alert on its age catches a purge that stopped running anywhere).
 */
export function retentionMetrics(registry: Registry): RetentionMetrics {
  const rows = new Counter({
    name: "onetime_retention_rows_total",
    help: "Rows the retention purge removed (action deleted) or reduced (action address_hashed: the caller's address replaced by a keyed hash), by table.",
    labelNames: ["table", "action"],
    registers: [registry],
  });
  const rounds = new Counter({
    name: "onetime_retention_rounds_total",
    help: "Retention purge rounds by outcome: purged, busy (another instance held the lock), failed (an error, logged).",
    labelNames: ["outcome"],
    registers: [registry],
  });
  const lastSuccess = new Gauge({
    name: "onetime_retention_last_success_timestamp_seconds",
    help: "When a retention purge round last finished without error (Unix time); 0 until one has.",
    registers: [registry],
    // Workers purge in turn: the newest round of any of them is the one that counts.
    aggregator: "max",
  });
  // Every series exists from the start, so a rate or an alert reads 0 rather than nothing.
  for (const { table, action } of Object.values(PURGE_TASKS)) rows.inc({ table, action }, 0);
  for (const outcome of ["purged", "busy", "failed"] as const) rounds.inc({ outcome }, 0);
  lastSuccess.set(0);
  return {
    rounds: (outcome) => rounds.inc({ outcome }),
    purged: (task, count) => rows.inc(PURGE_TASKS[task], count),
    succeeded: (atMs) => lastSuccess.set(atMs / 1000),
  };
}
