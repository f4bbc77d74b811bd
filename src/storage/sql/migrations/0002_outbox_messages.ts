import type { Knex } from "knex";

/**
 * The delivery outbox: one row per message to send. The payload (rendered message with its code)
 * is sealed with the server's encryption key and set to NULL once the row is finished, so a
 * database dump holds no deliverable secret.
 */
export async function up(db: Knex): Promise<void> {
  await db.schema.createTable("outbox_messages", (table) => {
    table.uuid("id").primary();
    table.string("kind", 16).notNullable();
    table.string("template", 64);
    table.string("reference", 128);
    table.string("status", 16).notNullable().defaultTo("pending");
    table.integer("attempts").notNullable().defaultTo(0);
    table.integer("max_attempts").notNullable();
    table.timestamp("next_attempt_at", { useTz: true }).notNullable().defaultTo(db.fn.now());
    table.timestamp("lease_until", { useTz: true });
    table.timestamp("expires_at", { useTz: true }).notNullable();
    table.text("payload");
    table.string("last_error", 512);
    table.timestamp("created_at", { useTz: true }).notNullable().defaultTo(db.fn.now());
    table.timestamp("updated_at", { useTz: true }).notNullable().defaultTo(db.fn.now());
    table.timestamp("finished_at", { useTz: true });
  });
  // Relays only ever look at unfinished rows; keep their index small as finished rows pile up.
  await db.raw(
    "create index outbox_messages_due on outbox_messages (next_attempt_at) where status in ('pending', 'sending')",
  );
}

export async function down(db: Knex): Promise<void> {
  await db.schema.dropTable("outbox_messages");
}
