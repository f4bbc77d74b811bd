import type { Knex } from "knex";
import type { KeyedHash } from "../../../crypto/keyedHash.js";
import * as auditEvents from "./0001_audit_events.js";
import * as outboxMessages from "./0002_outbox_messages.js";
import * as totpSecrets from "./0003_totp_secrets.js";
import { totpConsumerHash } from "./0004_totp_consumer_hash.js";
import * as onetimeKeys from "./0005_onetime_keys.js";
import * as securityProfiles from "./0006_security_profiles.js";
import * as accountTokens from "./0007_account_tokens.js";
import * as retention from "./0008_retention.js";
import * as factorChangeReports from "./0009_factor_change_reports.js";

export interface Migration {
  readonly name: string;
  up(db: Knex): Promise<void>;
  down(db: Knex): Promise<void>;
}

/** What migrations need from the running server beyond the database: keys SQL cannot know. */
export interface MigrationContext {
  /** The keyed hash that names a consumer's row in `totp_secrets` (the store uses the same). */
  readonly totpConsumerHash: KeyedHash;
  /** The keyed hash that names a user key in `security_profiles` (guarded like the above when given). */
  readonly profileKeyHash?: KeyedHash;
}

/**
 * Every migration, in order. Listed in code rather than read from a folder, so migrations run the
 * same under tsx, a bundler or compiled output. Append only: a released migration is never edited.
 */
export function migrationSource(context: MigrationContext): Knex.MigrationSource<Migration> {
  const migrations: readonly Migration[] = [
    { name: "0001_audit_events", ...auditEvents },
    { name: "0002_outbox_messages", ...outboxMessages },
    { name: "0003_totp_secrets", ...totpSecrets },
    { name: "0004_totp_consumer_hash", ...totpConsumerHash(context.totpConsumerHash) },
    { name: "0005_onetime_keys", ...onetimeKeys },
    { name: "0006_security_profiles", ...securityProfiles },
    { name: "0007_account_tokens", ...accountTokens },
    { name: "0008_retention", ...retention },
    { name: "0009_factor_change_reports", ...factorChangeReports },
  ];
  return {
    getMigrations: async () => [...migrations],
    getMigrationName: (migration) => migration.name,
    getMigration: async (migration) => migration,
  };
}
