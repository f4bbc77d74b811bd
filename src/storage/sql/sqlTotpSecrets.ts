import type { KeyedHash } from "../../crypto/keyedHash.js";
import type { TotpEnrolOutcome, TotpSecretRecord, TotpSecretStore } from "../../domain/totp/totpSecretStore.js";
import { auditInsert } from "./auditEvents.js";
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
/** Enrolment retries when a concurrent change hides the row from its statement (see `enrol`). */
const enrolAttempts = 3;

/**
 * TOTP secrets in Postgres or PGlite, each row keyed by `consumerHash(consumer)`: the same keyed
 * hash migration 0004 re-keyed older rows with. Every check-and-change is one statement, so
 * concurrent requests (on any instance) are ordered by the row lock, never by a read in the
 * application; a security event's audit row is written by that same statement, so it exists if
 * and only if the change does.
 */
export function sqlTotpSecrets(db: Database, consumerHash: KeyedHash): TotpSecretStore {
  async function find(consumer: string): Promise<TotpSecretRecord | null> {
    const row = await db(table).select(columns).where({ consumer_hash: consumerHash(consumer) }).first<SecretRow | undefined>();
    return row === undefined ? null : toRecord(row);
  }

  return {
    find,

    async enrol(consumer, sealedSecret, keyId) {
      // Most starts are for consumers long enrolled: a plain read answers them without the row
      // lock an upsert takes even when it changes nothing.
      const current = await find(consumer);
      if (current?.status === "active") return { outcome: "already_active", record: current };
      // One statement creates or replaces a pending secret (`xmax = 0` holds only for a row this
      // statement inserted) and, when the upsert leaves an active secret as it is (activated since
      // the read), reads that row from the statement's snapshot. Should the snapshot not show it
      // active either (a concurrent enrolment or 2FA removal raced this one), start over.
      for (let attempt = 0; attempt < enrolAttempts; attempt++) {
        const hash = consumerHash(consumer);
        const result = await db.raw<{ rows: (SecretRow & { inserted: boolean; written: boolean })[] }>(
          `with upserted as (
             insert into ${table} (consumer_hash, sealed_secret, key_id, status)
             values (?, ?, ?, 'pending')
             on conflict (consumer_hash) do update
                set sealed_secret = excluded.sealed_secret, key_id = excluded.key_id, updated_at = now()
              where ${table}.status = 'pending'
          returning ${columns.join(", ")}, (xmax = 0) as inserted, true as written
           )
           select * from upserted
           union all
           select ${columns.join(", ")}, false, false from ${table}
            where consumer_hash = ? and not exists (select 1 from upserted)`,
          [hash, sealedSecret, keyId, hash],
        );
        const [row] = result.rows;
        if (row?.written === true) {
          const outcome: TotpEnrolOutcome = row.inserted ? "created" : "replaced";
          return { outcome, record: toRecord(row) };
        }
        if (row?.status === "active") return { outcome: "already_active", record: toRecord(row) };
      }
      throw new Error(`the TOTP secret of a consumer kept changing during ${enrolAttempts} enrolment attempts`);
    },

    async markUsed(consumer, timeStep, actor) {
      requireTimeStep(timeStep);
      // Whether this use activated the secret needs the status from before the update, which
      // `returning` cannot see: `previous` reads and locks the row first (re-read at its newest
      // version if a concurrent use got there first), and the update joins it.
      const used = await db.raw<{ rows: { previous_status: TotpSecretRecord["status"] }[] }>(
        `with previous as (
           select consumer_hash, status from ${table}
            where consumer_hash = ? and (last_used_step is null or last_used_step < ?)
              for update
         ), used as (
           update ${table}
              set last_used_step = ?, status = 'active', activated_at = coalesce(${table}.activated_at, now()), updated_at = now()
             from previous
            where ${table}.consumer_hash = previous.consumer_hash
        returning ${table}.consumer_hash, previous.status as previous_status
         ), audited as (?)
         select previous_status from used`,
        [
          consumerHash(consumer),
          timeStep,
          timeStep,
          auditInsert(db, actor, "totp.enrolled", { from: "used", where: "used.previous_status = 'pending'", subject: "used.consumer_hash" }),
        ],
      );
      return used.rows.length === 1;
    },

    async removeAfterUse(consumer, timeStep, actor) {
      requireTimeStep(timeStep);
      const removed = await db.raw<{ rows: unknown[] }>(
        `with removed as (
           delete from ${table}
            where consumer_hash = ? and (last_used_step is null or last_used_step < ?)
        returning consumer_hash, status
         ), audited as (?)
         select 1 from removed`,
        [
          consumerHash(consumer),
          timeStep,
          auditInsert(db, actor, "totp.removed", { from: "removed", subject: "removed.consumer_hash", details: "jsonb_build_object('status', removed.status)" }),
        ],
      );
      return removed.rows.length === 1;
    },
  };
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
