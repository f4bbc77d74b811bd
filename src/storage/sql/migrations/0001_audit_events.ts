import type { Knex } from "knex";

/**
 * The audit trail: who did what to which subject, and how it ended. Append-only; holds no
 * secret, only ids and outcomes.
 */
export async function up(db: Knex): Promise<void> {
  await db.schema.createTable("audit_events", (table) => {
    table.bigIncrements("id").primary();
    table.timestamp("occurred_at", { useTz: true }).notNullable().defaultTo(db.fn.now());
    table.string("request_id", 128);
    table.string("principal_kind", 16).notNullable();
    table.string("principal_subject", 256);
    table.string("action", 128).notNullable();
    table.string("subject", 512);
    table.string("outcome", 64).notNullable();
    table.jsonb("details").notNullable().defaultTo("{}");
    table.index(["subject", "occurred_at"]);
    table.index(["occurred_at"]);
  });
}

export async function down(db: Knex): Promise<void> {
  await db.schema.dropTable("audit_events");
}
