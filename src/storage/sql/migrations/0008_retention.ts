import type { Knex } from "knex";

/**
 * What the retention purge (src/retention) and user erasure need to find their rows without a
 * scan: one index per purge, each ordered by the time the purge cuts at, partial where only a
 * shrinking part of the table qualifies, so the index stays small as the table grows.
 *
 * `audit_events.client_address_hash` takes the caller's address once it has been kept in clear
 * for AUDIT_ADDRESS_RETENTION_HOURS: a keyed hash, so rows from one address still match each
 * other, and the address itself is gone. Additive only: the previous release runs unchanged on it.
 */
export async function up(db: Knex): Promise<void> {
  await db.raw("alter table audit_events add column client_address_hash varchar(64)");
  // Rows still holding an address in clear: only the last few days' once the purge runs.
  await db.raw("create index audit_events_clear_address on audit_events (occurred_at) where client_address is not null");
  // Erasure finds a user's rows by who acted as well as by subject (indexed since 0001).
  await db.raw("create index audit_events_principal_subject on audit_events (principal_subject) where principal_subject is not null");
  await db.raw("create index account_tokens_expires_at on account_tokens (expires_at)");
  await db.raw("create index outbox_messages_finished_at on outbox_messages (finished_at) where finished_at is not null");
  await db.raw("create index totp_secrets_pending on totp_secrets (updated_at) where status = 'pending'");
}

export async function down(db: Knex): Promise<void> {
  for (const index of ["audit_events_clear_address", "audit_events_principal_subject", "account_tokens_expires_at", "outbox_messages_finished_at", "totp_secrets_pending"]) {
    await db.raw("drop index if exists ??", [index]);
  }
  await db.raw("alter table audit_events drop column if exists client_address_hash");
}
