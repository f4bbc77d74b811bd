import { randomBytes } from "node:crypto";
import { performance } from "node:perf_hooks";
import pg from "pg";
import { openDatabase } from "../../src/storage/sql/database.js";
import { benchTag, databaseUrl, dropSchema } from "../server/backends.js";
import { round1, summarize, type LatencySummary } from "../stats.js";
import { outboxInsert, outboxValues, sealedPayload } from "./outboxRows.js";
import { keyedHash } from "../../src/crypto/keyedHash.js";

// No TOTP rows here: any key will do for the migrations.
const benchMigrationContext = { totpConsumerHash: keyedHash(randomBytes(32), "totp-consumer") };

export interface PostgresCeiling {
  readonly table: string;
  readonly rows: number;
  readonly concurrency: number;
  readonly rowsPerSecond: number;
  readonly latencyMs: LatencySummary;
}

/**
 * Postgres' own ceiling for the outbox insert: `rows` single-row INSERTs, 32 at a time, each on
 * its own pooled connection (plain pg, no query builder), after as many unmeasured ones as a
 * warm-up. Twice: into outbox_messages as the migrations create it (logged, with its indexes:
 * what the service pays), and into a TEMP table of the same shape (one per connection; not
 * WAL-logged, so the upper bound without durability).
 */
export async function postgresCeilings(rows: number, concurrency = 32): Promise<PostgresCeiling[]> {
  const schema = `bench_ceiling_${benchTag()}`;
  const db = await openDatabase({ kind: "postgres", url: databaseUrl(), schema, poolMax: 2 }, benchMigrationContext);
  await db.destroy();
  const pool = new pg.Pool({ connectionString: databaseUrl(), max: concurrency, options: `-c search_path=${schema}` });
  try {
    const clients = await Promise.all(Array.from({ length: concurrency }, () => pool.connect()));
    for (const client of clients) {
      await client.query("create temp table outbox_temp (like outbox_messages including all)");
    }
    const logged = await insertRows(clients, rows, outboxInsert, "outbox_messages (logged, as migrated)");
    const temp = await insertRows(clients, rows, outboxInsert.replace("outbox_messages", "outbox_temp"), "temp table like outbox_messages");
    for (const client of clients) client.release();
    return [logged, temp];
  } finally {
    await pool.end();
    await dropSchema(schema);
  }
}

async function insertRows(clients: pg.PoolClient[], rows: number, sql: string, table: string): Promise<PostgresCeiling> {
  const payload = sealedPayload();
  const latencies: number[] = [];
  const insert = async (count: number, record: boolean) => {
    let remaining = count;
    await Promise.all(
      clients.map(async (client) => {
        while (remaining > 0) {
          remaining--;
          const t = performance.now();
          await client.query(sql, outboxValues(payload));
          if (record) latencies.push(performance.now() - t);
        }
      }),
    );
  };
  // Unmeasured first, as many again: connection caches, the table's first pages, the JIT.
  await insert(rows, false);
  const started = performance.now();
  await insert(rows, true);
  const seconds = (performance.now() - started) / 1000;
  return { table, rows, concurrency: clients.length, rowsPerSecond: round1(rows / seconds), latencyMs: summarize(latencies) };
}
