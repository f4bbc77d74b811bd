import type { Knex } from "knex";

/**
 * Authenticator (TOTP) secrets, one per consumer. The secret is sealed with the server's
 * encryption key (its id beside it, so keys can rotate); `last_used_step` is the newest time
 * step whose code was accepted, kept here rather than in Redis so a restart cannot reopen it.
 */
export async function up(db: Knex): Promise<void> {
  await db.schema.createTable("totp_secrets", (table) => {
    // 320: the longest email address; account ids and phone numbers are shorter.
    table.string("consumer", 320).primary();
    table.text("sealed_secret").notNullable();
    table.string("key_id", 32).notNullable();
    table.string("status", 16).notNullable().defaultTo("pending");
    table.bigInteger("last_used_step");
    table.timestamp("created_at", { useTz: true }).notNullable().defaultTo(db.fn.now());
    table.timestamp("activated_at", { useTz: true });
    table.timestamp("updated_at", { useTz: true }).notNullable().defaultTo(db.fn.now());
    table.check("status in ('pending', 'active')", {}, "totp_secrets_status");
    table.check("last_used_step is null or last_used_step >= 0", {}, "totp_secrets_last_used_step");
  });
}

export async function down(db: Knex): Promise<void> {
  await db.schema.dropTable("totp_secrets");
}
