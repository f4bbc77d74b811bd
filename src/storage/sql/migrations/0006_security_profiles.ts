import type { Knex } from "knex";

/**
 * Users' security profiles (TokenService): up to one email and one phone number, each verified
 * or not with its own MFA switch, and an optional anti-phishing code.
 *
 * A dump must not give away addresses or codes, yet password recovery and registration must find
 * a profile by its key, and no two profiles may share one. So each key is stored twice: sealed
 * with the encryption key (`*_sealed`, opened to send to it and to show it to its user) and as a
 * keyed hash (`*_hash`, HMAC under the server key: looked up and kept unique). The anti-phishing
 * code is only sealed: nothing looks it up.
 */
export async function up(db: Knex): Promise<void> {
  await db.schema.createTable("security_profiles", (table) => {
    table.string("user_id", 128).primary();
    for (const key of ["email", "phone"]) {
      table.string(`${key}_hash`, 64).unique({ indexName: `security_profiles_${key}_hash` });
      table.text(`${key}_sealed`);
      table.boolean(`${key}_verified`).notNullable().defaultTo(false);
      table.boolean(`${key}_mfa`).notNullable().defaultTo(false);
      table.check(`(${key}_hash is null) = (${key}_sealed is null)`, {}, `security_profiles_${key}_pair`);
      // MFA only on a verified key that exists.
      table.check(`not ${key}_mfa or (${key}_verified and ${key}_hash is not null)`, {}, `security_profiles_${key}_mfa`);
    }
    table.text("anti_phishing_sealed");
    table.timestamp("created_at", { useTz: true }).notNullable().defaultTo(db.fn.now());
    table.timestamp("updated_at", { useTz: true }).notNullable().defaultTo(db.fn.now());
    // The last key is never removed: a profile nobody can reach could never be recovered.
    table.check("email_hash is not null or phone_hash is not null", {}, "security_profiles_has_key");
  });
}

export async function down(db: Knex): Promise<void> {
  await db.schema.dropTable("security_profiles");
}
