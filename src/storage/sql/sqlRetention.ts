import type { Knex } from "knex";
import type { KeyedHash } from "../../crypto/keyedHash.js";
import type { PurgePlan, PurgeReport, PurgeTask, RetentionStore } from "../../retention/retentionStore.js";
import type { Database } from "./database.js";

export interface SqlRetentionOptions {
  /** Names the advisory lock: instances sharing a schema purge one at a time. */
  readonly schema: string;
  /** The keyed hash an audit row's address is reduced to. */
  readonly addressHash: KeyedHash;
}

/** One batch of one task on the round's connection: rows purged, at most `limit`. */
type Batch = (run: RunOnConnection, cutoff: Date, limit: number) => Promise<number>;
type RunOnConnection = <R>(sql: string, bindings: readonly Knex.RawBinding[]) => Promise<R>;

/**
 * Each statement picks at most `limit` rows by the index of its time column (migration 0008),
 * oldest first, and purges them by primary key: a batch costs the same however large the table.
 */
function deleteBatch(table: string, key: string, time: string, where = "true"): Batch {
  return async (run, cutoff, limit) => {
    const result = await run<{ rowCount: number | null }>(
      `delete from ${table} where ${key} in (
         select ${key} from ${table} where ${time} < ? and ${where} order by ${time} limit ?
       ) and ${time} < ? and ${where}`,
      [cutoff, limit, cutoff],
    );
    return result.rowCount ?? 0;
  };
}

/**
 * Retention in Postgres or PGlite. A round holds a session advisory lock on a connection of its
 * own (`pg_try_advisory_lock`, never waiting): of many instances only one purges at a time, and a
 * lock whose holder died goes with its session. Every batch of the round runs on that connection,
 * each statement its own transaction, so no lock on a row outlives its batch.
 */
export function sqlRetention(db: Database, options: SqlRetentionOptions): RetentionStore {
  const lockKey = `onetime-retention:${options.schema}`;

  const reduceAddresses: Batch = async (run, cutoff, limit) => {
    // The hash needs the server key, which SQL does not have: read a batch, hash it here, write it back.
    const { rows } = await run<{ rows: { id: string; client_address: string }[] }>(
      `select id, client_address from audit_events where client_address is not null and occurred_at < ? order by occurred_at limit ?`,
      [cutoff, limit],
    );
    if (rows.length === 0) return 0;
    const result = await run<{ rowCount: number | null }>(
      `update audit_events a set client_address = null, client_address_hash = v.hash
         from unnest(?::bigint[], ?::text[]) as v(id, hash)
        where a.id = v.id and a.client_address is not null`,
      [rows.map((row) => row.id), rows.map((row) => options.addressHash(row.client_address))],
    );
    return result.rowCount ?? 0;
  };

  const batches: Readonly<Record<PurgeTask, Batch>> = {
    // Addresses first: a row old enough to be deleted is deleted either way.
    audit_addresses: reduceAddresses,
    audit_events: deleteBatch("audit_events", "id", "occurred_at"),
    account_tokens: deleteBatch("account_tokens", "id", "expires_at"),
    outbox_messages: deleteBatch("outbox_messages", "id", "finished_at"),
    // Re-checked by the delete itself: an enrolment may replace the secret meanwhile.
    pending_totp_secrets: deleteBatch("totp_secrets", "consumer_hash", "updated_at", "status = 'pending'"),
    factor_change_reports: deleteBatch("factor_change_reports", "id", "expires_at"),
  };

  return {
    async purge(plan: PurgePlan): Promise<PurgeReport | null> {
      const connection: unknown = await db.client.acquireConnection();
      const run: RunOnConnection = (sql, bindings) => db.raw(sql, bindings).connection(connection) as unknown as Promise<never>;
      try {
        const { rows } = await run<{ rows: { locked: boolean }[] }>("select pg_try_advisory_lock(hashtext(?)) as locked", [lockKey]);
        if (rows[0]?.locked !== true) return null;
        try {
          const purged = {} as Record<PurgeTask, number>;
          const unfinished: PurgeTask[] = [];
          for (const task of Object.keys(batches) as PurgeTask[]) {
            purged[task] = 0;
            let full = false;
            for (let batch = 0; batch < plan.maxBatches; batch++) {
              const count = await batches[task](run, plan.cutoffs[task], plan.batchSize);
              purged[task] += count;
              full = count >= plan.batchSize;
              if (!full) break;
            }
            if (full) unfinished.push(task);
          }
          return { rows: purged, unfinished };
        } finally {
          await run("select pg_advisory_unlock(hashtext(?))", [lockKey]);
        }
      } finally {
        await db.client.releaseConnection(connection);
      }
    },
  };
}

