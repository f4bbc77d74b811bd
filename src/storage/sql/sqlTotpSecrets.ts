import type { Knex } from "knex";
import type { KeyedHash } from "../../crypto/keyedHash.js";
import type { TotpEnrolOutcome, TotpSecretRecord, TotpSecretStore } from "../../domain/totp/totpSecretStore.js";
import type { Database } from "./database.js";

interface SecretRow {
  sealed_secret: string;
  key_id: string;
  status: TotpSecretRecord["status"];
  /** bigint: node-postgres returns it as a string. */
  last_used_step: string | number | null;
}

const table = "totp_secrets";
const columns = ["sealed_secret", "key_id", "status", "last_used_step"] as const;
/** Enrolment retries when the row changes between its two statements (see `enrol`). */
const enrolAttempts = 3;

/**
 * TOTP secrets in Postgres or PGlite, each row keyed by `consumerHash(consumer)`: the same keyed
 * hash migration 0004 re-keyed older rows with. Every check-and-change is one statement, so
 * concurrent requests (on any instance) are ordered by the row lock, never by a read in the
 * application. Changes count the rows they touched through `returning`: knex-pglite answers a bare
 * delete with its raw result rather than a count.
 */
export function sqlTotpSecrets(db: Database, consumerHash: KeyedHash): TotpSecretStore {
  async function find(consumer: string): Promise<TotpSecretRecord | null> {
    const row = await db(table).select(columns).where({ consumer_hash: consumerHash(consumer) }).first<SecretRow | undefined>();
    return row === undefined ? null : toRecord(row);
  }

  return {
    find,

    async enrol(consumer, sealedSecret, keyId) {
      // One statement creates or replaces a pending secret; `xmax = 0` holds only for a row this
      // statement inserted. An active secret is left as it is and the upsert returns nothing, so
      // a second statement reads it. Should it vanish (or turn pending again) in between, a 2FA
      // removal raced this enrolment: start over.
      for (let attempt = 0; attempt < enrolAttempts; attempt++) {
        const upserted = await db.raw<{ rows: (SecretRow & { inserted: boolean })[] }>(
          `insert into ${table} (consumer_hash, sealed_secret, key_id, status)
           values (?, ?, ?, 'pending')
           on conflict (consumer_hash) do update
              set sealed_secret = excluded.sealed_secret, key_id = excluded.key_id, updated_at = now()
            where ${table}.status = 'pending'
        returning ${columns.join(", ")}, (xmax = 0) as inserted`,
          [consumerHash(consumer), sealedSecret, keyId],
        );
        const [row] = upserted.rows;
        if (row !== undefined) {
          const outcome: TotpEnrolOutcome = row.inserted ? "created" : "replaced";
          return { outcome, record: toRecord(row) };
        }
        const current = await find(consumer);
        if (current?.status === "active") return { outcome: "already_active", record: current };
      }
      throw new Error(`the TOTP secret of a consumer kept changing during ${enrolAttempts} enrolment attempts`);
    },

    async markUsed(consumer, timeStep) {
      requireTimeStep(timeStep);
      const updated: unknown[] = await unusedBefore(db(table), consumerHash(consumer), timeStep).update(
        { last_used_step: timeStep, status: "active", activated_at: db.raw("coalesce(activated_at, now())"), updated_at: db.fn.now() },
        ["consumer_hash"],
      );
      return updated.length === 1;
    },

    async removeAfterUse(consumer, timeStep) {
      requireTimeStep(timeStep);
      const deleted: unknown[] = await unusedBefore(db(table), consumerHash(consumer), timeStep).delete(["consumer_hash"]);
      return deleted.length === 1;
    },
  };
}

/**
 * The consumer's row, if `timeStep` is newer than its last used step. Under concurrent writers
 * Postgres re-checks this on the row's newest version after the lock, so one step wins once.
 */
function unusedBefore(query: Knex.QueryBuilder, hash: string, timeStep: number): Knex.QueryBuilder {
  return query.where({ consumer_hash: hash }).andWhere((newer) => newer.whereNull("last_used_step").orWhere("last_used_step", "<", timeStep));
}

function requireTimeStep(timeStep: number): void {
  if (!Number.isSafeInteger(timeStep) || timeStep < 0) throw new RangeError(`time step must be a non-negative integer, got ${timeStep}`);
}

function toRecord(row: SecretRow): TotpSecretRecord {
  return {
    sealedSecret: row.sealed_secret,
    keyId: row.key_id,
    status: row.status,
    lastUsedStep: row.last_used_step === null ? null : Number(row.last_used_step),
  };
}
