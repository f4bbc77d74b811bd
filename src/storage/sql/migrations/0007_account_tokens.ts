import type { Knex } from "knex";

/**
 * Account tokens (seed 003): account creation request tokens, account creation and recovery
 * tokens, auth tokens. Durable records with their history: the token itself is never stored, only
 * its keyed hash; the device a push went to only as a keyed hash of provider and device token.
 *
 * `state` is explicit (sending, active, used, revoked, expired) with the time of each step; a
 * token past `expires_at` is expired whatever its state says, and is marked so when someone
 * tries to use it. At most one token per kind and device is live (sending or active): the partial
 * unique index is what refuses a second push while one is valid, across every instance.
 *
 * The audit trail gains the caller's network address: public callers have no other name.
 */
export async function up(db: Knex): Promise<void> {
  await db.schema.createTable("account_tokens", (table) => {
    table.uuid("id").primary();
    table.string("kind", 32).notNullable();
    table.string("token_hash", 64).notNullable().unique();
    table.string("state", 16).notNullable();
    table.string("device_hash", 64);
    table.string("account_id", 256);
    table.uuid("source_token_id");
    table.timestamp("created_at", { useTz: true }).notNullable().defaultTo(db.fn.now());
    table.timestamp("expires_at", { useTz: true }).notNullable();
    table.timestamp("validated_at", { useTz: true });
    table.timestamp("attached_at", { useTz: true });
    table.timestamp("used_at", { useTz: true });
    table.timestamp("revoked_at", { useTz: true });
    table.index(["kind", "device_hash", "created_at"]);
    table.index(["account_id", "created_at"]);
    table.index(["created_at", "id"]);
  });
  await db.raw(
    `alter table account_tokens
       add constraint account_tokens_kind check (kind in ('account_creation_request', 'account_creation', 'account_recovery', 'auth')),
       add constraint account_tokens_state check (state in ('sending', 'active', 'used', 'revoked', 'expired'))`,
  );
  await db.raw(`create unique index account_tokens_live_device on account_tokens (kind, device_hash) where state in ('sending', 'active') and device_hash is not null`);
  await db.raw("alter table audit_events add column if not exists client_address varchar(64)");
}

export async function down(db: Knex): Promise<void> {
  await db.schema.dropTable("account_tokens");
  await db.raw("alter table audit_events drop column if exists client_address");
}
