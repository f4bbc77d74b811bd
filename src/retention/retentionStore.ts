/**
 * What the purge does to each table that grows, named as its metrics name it: the table, and
 * whether rows are deleted or only the caller's address in them is reduced to a keyed hash.
 */
export const PURGE_TASKS = {
  audit_events: { table: "audit_events", action: "deleted" },
  audit_addresses: { table: "audit_events", action: "address_hashed" },
  account_tokens: { table: "account_tokens", action: "deleted" },
  outbox_messages: { table: "outbox_messages", action: "deleted" },
  pending_totp_secrets: { table: "totp_secrets", action: "deleted" },
  factor_change_reports: { table: "factor_change_reports", action: "deleted" },
} as const;

export type PurgeTask = keyof typeof PURGE_TASKS;

/** One round's work: per task, the time before which its rows go, and how much one round may do. */
export interface PurgePlan {
  /** Rows whose time (see each task) is before this are purged. */
  readonly cutoffs: Readonly<Record<PurgeTask, Date>>;
  /** Rows per statement: each statement deletes (or updates) at most this many, by primary key. */
  readonly batchSize: number;
  /** Statements per task and round: a round never runs longer than this many batches per task. */
  readonly maxBatches: number;
}

export interface PurgeReport {
  /** Rows purged per task. */
  readonly rows: Readonly<Record<PurgeTask, number>>;
  /** Tasks that used all their batches: rows may be left for the next round. */
  readonly unfinished: readonly PurgeTask[];
}

/**
 * Where the purge runs. One round at a time across every instance sharing the store: a round
 * that finds another under way does nothing and answers null.
 */
export interface RetentionStore {
  purge(plan: PurgePlan): Promise<PurgeReport | null>;
}
