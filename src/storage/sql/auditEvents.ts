import type { Knex } from "knex";
import type { Actor } from "../../domain/actor.js";
import type { Database } from "./database.js";

/** Security events of durable records; everything else goes to logs and metrics. */
export type AuditAction =
  | "totp.enrolled"
  | "totp.removed"
  | "profile.created"
  | "profile.key_set"
  | "profile.key_removed"
  | "profile.mfa_enabled"
  | "profile.mfa_disabled"
  | "profile.anti_phishing_code_set"
  | "profile.factor_changes_locked"
  | "profile.factor_changes_unlocked"
  | "account_token.created"
  | "account_token.sent"
  | "account_token.validated"
  | "account_token.attached"
  | "account_token.used"
  | "account_token.expired_on_use"
  | "account_token.revoked"
  | "user.erased";

/** Where an audit row's facts come from: rows a change returned (SQL the store writes, never input). */
export interface AuditSource {
  /** The CTE holding the changed rows: one audit row each. */
  readonly from: string;
  /** Only changed rows matching this are security events. */
  readonly where?: string;
  /** The expression naming what changed; never a plain consumer, only its keyed hash. */
  readonly subject: string;
  /** A jsonb expression with whatever else a reader needs; default `{}`. */
  readonly details?: string;
}

/**
 * The audit insert for one kind of change, to run as a CTE of the very statement that makes the
 * change: one round trip, and the row exists if and only if the change committed. Only successes
 * are written this way (outcome `ok`): a change that did not happen returns no row to audit.
 */
export function auditInsert(db: Database, actor: Actor, action: AuditAction, source: AuditSource): Knex.Raw {
  // The actor goes in as text, read from a materialized CTE: as bare parameters its values would
  // be fitted to the columns' lengths while planning, so a value too long for one would fail the
  // statement even when it audits nothing (a later step of an active secret). This way only an
  // audit row actually written can fail, and then the change fails with it.
  return db.raw(
    `insert into audit_events (request_id, principal_kind, principal_subject, client_address, action, subject, outcome, details)
     with actor as materialized (select ?::text as request_id, ?::text as kind, ?::text as subject, ?::text as client_address)
     select actor.request_id, actor.kind, actor.subject, actor.client_address, ?, ${source.subject}, 'ok', ${source.details ?? "'{}'::jsonb"}
       from ${source.from}, actor${source.where === undefined ? "" : ` where ${source.where}`}`,
    [actor.requestId ?? null, actor.kind, actor.subject ?? null, actor.clientAddress ?? null, action],
  );
}
