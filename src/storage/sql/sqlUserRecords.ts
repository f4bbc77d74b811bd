import type { KeyedHash } from "../../crypto/keyedHash.js";
import type { ErasedRecords, UserRecords } from "../../domain/erasure/userRecords.js";
import type { Database } from "./database.js";

interface CountsRow {
  security_profiles: number;
  account_tokens: number;
  totp_secrets: number;
  audit_events: number;
  factor_change_reports: number;
}

/**
 * User erasure in Postgres or PGlite: one statement, so the deletes, the cleared audit fields and
 * the erasure's own audit event commit together. An audit event is the user's when they acted
 * (`principal_subject`) or it is about them: their profile (`subject` = user id), their TOTP
 * secret (its consumer hash) or one of their account tokens (its id). The user's "this wasn't me"
 * report tokens go with the profile. Its row stays, so the trail
 * keeps its shape; who, about whom and from where are cleared. The erasure's own event names
 * nobody: only the counts.
 */
export function sqlUserRecords(db: Database, totpConsumerHash: KeyedHash): UserRecords {
  return {
    async erase(userId, actor): Promise<ErasedRecords> {
      const result = await db.raw<{ rows: CountsRow[] }>(
        `with erased_tokens as (
           delete from account_tokens where account_id = ? returning id::text as id
         ), erased_profiles as (
           delete from security_profiles where user_id = ? returning user_id
         ), erased_totp as (
           delete from totp_secrets where consumer_hash = ? returning consumer_hash
         ), erased_reports as (
           delete from factor_change_reports where user_id = ? returning id
         ), cleared as (
           update audit_events
              set principal_subject = case when principal_subject = ? then null else principal_subject end,
                  subject = null, client_address = null, client_address_hash = null
            where principal_subject = ? or subject = ? or subject = ? or subject in (select id from erased_tokens)
        returning id
         ), counts as (
           select (select count(*) from erased_profiles)::int as security_profiles,
                  (select count(*) from erased_tokens)::int as account_tokens,
                  (select count(*) from erased_totp)::int as totp_secrets,
                  (select count(*) from cleared)::int as audit_events,
                  (select count(*) from erased_reports)::int as factor_change_reports
         ), audited as (
           insert into audit_events (request_id, principal_kind, principal_subject, client_address, action, subject, outcome, details)
           select ?::text, ?::text, ?::text, ?::text, 'user.erased', null, 'ok', to_jsonb(counts) from counts
         )
         select * from counts`,
        [
          userId,
          userId,
          totpConsumerHash(userId),
          userId,
          userId,
          userId,
          userId,
          totpConsumerHash(userId),
          actor.requestId ?? null,
          actor.kind,
          actor.subject ?? null,
          actor.clientAddress ?? null,
        ],
      );
      const row = result.rows[0]!;
      return { securityProfiles: row.security_profiles, accountTokens: row.account_tokens, totpSecrets: row.totp_secrets, auditEvents: row.audit_events, factorChangeReports: row.factor_change_reports };
    },
  };
}
