import type { Knex } from "knex";

/**
 * "This wasn't me": every applied factor change (a key added, changed, recovered or removed, MFA
 * turned off) sends the profile's other keys a report token, kept here as a keyed hash beside
 * the change it reports. Consuming one locks the profile's factor changes: the lock and what was
 * reported live on the profile row, so every change statement checks it in its `where`.
 */
export async function up(db: Knex): Promise<void> {
  await db.schema.createTable("factor_change_reports", (table) => {
    table.uuid("id").primary();
    table.string("user_id", 128).notNullable().index("factor_change_reports_user");
    table.string("token_hash", 64).notNullable().unique({ indexName: "factor_change_reports_token_hash" });
    // The change reported (key_added, key_changed, key_recovered, key_removed, mfa_disabled).
    table.string("change", 32).notNullable();
    table.timestamp("changed_at", { useTz: true }).notNullable();
    table.timestamp("expires_at", { useTz: true }).notNullable();
    table.timestamp("used_at", { useTz: true });
    // The retention purge cuts report tokens at their expiry, used or not.
    table.index(["expires_at"], "factor_change_reports_expires_at");
  });
  await db.schema.alterTable("security_profiles", (table) => {
    table.timestamp("factor_changes_locked_at", { useTz: true });
    table.string("locked_reported_change", 32);
    table.timestamp("locked_change_at", { useTz: true });
    // A lock always says what was reported, and when that change was made.
    table.check(
      "(factor_changes_locked_at is null) = (locked_reported_change is null) and (factor_changes_locked_at is null) = (locked_change_at is null)",
      {},
      "security_profiles_lock_reason",
    );
  });
}

export async function down(db: Knex): Promise<void> {
  await db.schema.alterTable("security_profiles", (table) => {
    table.dropChecks("security_profiles_lock_reason");
    table.dropColumns("factor_changes_locked_at", "locked_reported_change", "locked_change_at");
  });
  await db.schema.dropTable("factor_change_reports");
}
