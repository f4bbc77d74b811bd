import type { Knex } from "knex";
import * as auditEvents from "./0001_audit_events.js";
import * as outboxMessages from "./0002_outbox_messages.js";
import * as totpSecrets from "./0003_totp_secrets.js";

export interface Migration {
  readonly name: string;
  up(db: Knex): Promise<void>;
  down(db: Knex): Promise<void>;
}

// Listed in code rather than read from a folder, so migrations run the same under tsx, a
// bundler or compiled output. Append only: a released migration is never edited.
const migrations: readonly Migration[] = [
  { name: "0001_audit_events", ...auditEvents },
  { name: "0002_outbox_messages", ...outboxMessages },
  { name: "0003_totp_secrets", ...totpSecrets },
];

export const migrationSource: Knex.MigrationSource<Migration> = {
  getMigrations: async () => [...migrations],
  getMigrationName: (migration) => migration.name,
  getMigration: async (migration) => migration,
};
