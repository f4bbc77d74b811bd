import type { Knex } from "knex";

/**
 * One row per purpose whose key names durable rows (today "totp-consumer": the keyed hash that
 * is `totp_secrets.consumer_hash`). The row holds a fingerprint of that key, a keyed hash of a
 * fixed label made under it, never the key. At start a server compares its own fingerprint with
 * the stored one and refuses to serve on a different key: rows named under the old key would
 * otherwise be silently unfindable (every TOTP enrolment would read as "not enrolled").
 */
export async function up(db: Knex): Promise<void> {
  await db.schema.createTable("onetime_keys", (table) => {
    table.string("purpose", 64).primary();
    table.string("fingerprint", 64).notNullable();
    table.timestamp("created_at", { useTz: true }).notNullable().defaultTo(db.fn.now());
  });
}

export async function down(db: Knex): Promise<void> {
  await db.schema.dropTable("onetime_keys");
}
