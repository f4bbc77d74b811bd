import { randomUUID } from "node:crypto";
import type { Knex } from "knex";
import type { Actor } from "../../domain/actor.js";
import type { AccountTokenKind } from "../../domain/accountTokens/accountToken.js";
import type { AccountTokenStore, AuthTokenView, NewAccountToken } from "../../domain/accountTokens/accountTokenStore.js";
import { accountTokenList } from "./accountTokenList.js";
import { accountTokensTable as table, recordColumns, toRecord, type TokenRow } from "./accountTokenRows.js";
import { auditInsert, type AuditAction } from "./auditEvents.js";
import type { Database } from "./database.js";

const ms = "* interval '1 millisecond'";

/**
 * Account tokens in Postgres or PGlite. Every operation a caller waits on is one statement (the
 * stale-slot retry of reserveForPush aside): the change, its audit row, and the expired-on-use
 * mark of a token found past its time, so they commit together or not at all.
 */
export function sqlAccountTokens(db: Database): AccountTokenStore {
  const audit = (actor: Actor, action: AuditAction, from: string, details = `jsonb_build_object('kind', ${from}.kind)`) =>
    auditInsert(db, actor, action, { from, subject: `${from}.id::text`, details });

  /**
   * The prefix of every statement that spends or changes a token by its hash: `changed` holds the
   * row `set` changed (if it was usable and matched `where`), `expired` the row marked expired
   * because it was found past its time. The two are exclusive (now() is fixed per transaction).
   */
  const spend = (kind: AccountTokenKind, tokenHash: string, change: { set: string; where?: string; bindings?: Knex.RawBinding[] }, action: AuditAction, actor: Actor) => ({
    sql: `with changed as (
            update ${table} set ${change.set}
             where token_hash = ? and kind = ? and state = 'active' and expires_at > now()${change.where === undefined ? "" : ` and ${change.where}`}
         returning *
          ), expired as (
            update ${table} set state = 'expired'
             where token_hash = ? and kind = ? and state = 'active' and expires_at <= now()
         returning id, kind
          ), audited as (?), audited_expired as (?)`,
    bindings: [...(change.bindings ?? []), tokenHash, kind, tokenHash, kind, audit(actor, action, "changed"), audit(actor, "account_token.expired_on_use", "expired")],
  });

  /** Rows of `changed`, as records. */
  const spent = async (statement: { sql: string; bindings: Knex.RawBinding[] }) => {
    const result = await db.raw<{ rows: TokenRow[] }>(`${statement.sql} select ${recordColumns} from changed`, statement.bindings);
    const [row] = result.rows;
    return row === undefined ? null : toRecord(row);
  };

  const insertValues = (token: NewAccountToken, state: "active" | "sending", deviceHash: string | null): Knex.RawBinding[] => [randomUUID(), token.kind, token.tokenHash, state, deviceHash, token.ttlMs];

  return {
    async create(token, actor) {
      const result = await db.raw<{ rows: TokenRow[] }>(
        `with created as (
           insert into ${table} (id, kind, token_hash, state, device_hash, expires_at) values (?, ?, ?, ?, ?, now() + ? ${ms})
         returning *
         ), audited as (?)
         select ${recordColumns} from created`,
        [...insertValues(token, "active", null), audit(actor, "account_token.created", "created")],
      );
      return toRecord(result.rows[0]!);
    },

    async reserveForPush(token, limit, actor) {
      // Twice at most: a first refusal may be only a live slot whose token expired unused, which
      // is then marked expired and frees the slot.
      for (let attempt = 0; ; attempt++) {
        const result = await db.raw<{ rows: (Partial<TokenRow> & { live: number; stale: number; recent: number })[] }>(
          `with live as (
             select expires_at <= now() as stale from ${table}
              where kind = ? and device_hash = ? and state in ('sending', 'active')
           ), recent as (
             select count(*)::int as n from ${table}
              where kind = ? and device_hash = ? and created_at > now() - ? ${ms}
           ), created as (
             insert into ${table} (id, kind, token_hash, state, device_hash, expires_at)
             select ?, ?, ?, ?, ?, now() + ? ${ms}
              where not exists (select 1 from live) and (select n from recent) < ?
             on conflict (kind, device_hash) where state in ('sending', 'active') and device_hash is not null do nothing
           returning *
           ), audited as (?)
           select c.*, (select count(*) from live)::int as live, (select count(*) from live where stale)::int as stale, (select n from recent) as recent
             from (select 1) as one left join (select ${recordColumns} from created) as c on true`,
          [
            token.kind,
            token.deviceHash,
            token.kind,
            token.deviceHash,
            limit.windowMs,
            ...insertValues(token, "sending", token.deviceHash),
            limit.count,
            audit(actor, "account_token.created", "created"),
          ],
        );
        const row = result.rows[0]!;
        if (row.id !== null && row.id !== undefined) return { status: "reserved", record: toRecord(row as TokenRow) };
        if (row.live > 0 && row.stale === row.live && attempt === 0) {
          await db(table)
            .where({ kind: token.kind, device_hash: token.deviceHash })
            .whereIn("state", ["sending", "active"])
            .andWhere("expires_at", "<=", db.fn.now())
            .update({ state: "expired" });
          continue;
        }
        if (row.live === 0 && row.recent >= limit.count) return { status: "device_limit" };
        // A live token, or a concurrent reservation that took the slot first.
        return { status: "already_sent" };
      }
    },

    async markSent(id, actor) {
      const result = await db.raw<{ rows: unknown[] }>(
        `with sent as (update ${table} set state = 'active' where id = ? and state = 'sending' returning id, kind), audited as (?) select 1 from sent`,
        [id, audit(actor, "account_token.sent", "sent")],
      );
      return result.rows.length === 1;
    },

    async cancelSend(id, actor) {
      await db.raw(
        `with cancelled as (
           update ${table} set state = 'revoked', revoked_at = now() where id = ? and state in ('sending', 'active') returning id, kind
         ), audited as (?) select 1 from cancelled`,
        [id, audit(actor, "account_token.revoked", "cancelled", "jsonb_build_object('kind', cancelled.kind, 'reason', 'push_failed')")],
      );
    },

    async awaitsValidation(tokenHash, actor) {
      const result = await db.raw<{ rows: unknown[] }>(
        `with expired as (
           update ${table} set state = 'expired'
            where token_hash = ? and kind = 'account_creation_request' and state = 'active' and expires_at <= now()
        returning id, kind
         ), audited_expired as (?)
         select 1 from ${table}
          where token_hash = ? and kind = 'account_creation_request' and state = 'active' and expires_at > now() and validated_at is null`,
        [tokenHash, audit(actor, "account_token.expired_on_use", "expired"), tokenHash],
      );
      return result.rows.length === 1;
    },

    validateRequest(tokenHash, actor) {
      return spent(spend("account_creation_request", tokenHash, { set: "validated_at = now()", where: "validated_at is null" }, "account_token.validated", actor));
    },

    async createFromRequest(requestHash, token, actor) {
      const statement = spend("account_creation_request", requestHash, { set: "state = 'used', used_at = now()", where: "validated_at is not null" }, "account_token.used", actor);
      const result = await db.raw<{ rows: (Partial<TokenRow> & { unvalidated: boolean })[] }>(
        `${statement.sql}, created as (
           insert into ${table} (id, kind, token_hash, state, device_hash, expires_at, source_token_id)
           select ?, ?, ?, ?, ?, now() + ? ${ms}, changed.id from changed
         returning *
         ), audited_created as (?)
         select c.*, exists (
           select 1 from ${table} where token_hash = ? and kind = 'account_creation_request' and state = 'active' and expires_at > now() and validated_at is null
         ) as unvalidated
           from (select 1) as one left join (select ${recordColumns} from created) as c on true`,
        [...statement.bindings, ...insertValues(token, "active", null), audit(actor, "account_token.created", "created"), requestHash],
      );
      const row = result.rows[0]!;
      if (row.id !== null && row.id !== undefined) return { status: "created", record: toRecord(row as TokenRow) };
      return { status: row.unvalidated ? "not_validated" : "not_found" };
    },

    use(kind, tokenHash, accountId, actor) {
      return spent(
        spend(kind, tokenHash, { set: "state = 'used', used_at = now(), account_id = coalesce(?, account_id)", bindings: [accountId ?? null] }, "account_token.used", actor),
      );
    },

    attach(tokenHash, accountId, actor) {
      return spent(
        spend("auth", tokenHash, { set: "account_id = ?, attached_at = now()", where: "account_id is null", bindings: [accountId] }, "account_token.attached", actor),
      );
    },

    async redeem(tokenHash, actor) {
      const statement = spend("auth", tokenHash, { set: "state = 'used', used_at = now()", where: "account_id is not null" }, "account_token.used", actor);
      const result = await db.raw<{ rows: { account_id: string | null; pending: boolean }[] }>(
        `${statement.sql}
         select (select account_id from changed) as account_id, exists (
           select 1 from ${table} where token_hash = ? and kind = 'auth' and state = 'active' and expires_at > now() and account_id is null
         ) as pending`,
        [...statement.bindings, tokenHash],
      );
      const row = result.rows[0]!;
      if (row.account_id !== null) return { status: "redeemed", accountId: row.account_id };
      return { status: row.pending ? "pending" : "not_found" };
    },

    async authState(tokenHash) {
      const row = await db(table)
        .select(db.raw(`${recordColumns}`))
        .where({ token_hash: tokenHash, kind: "auth" })
        .first<TokenRow | undefined>();
      if (row === undefined) return null;
      const record = toRecord(row);
      const state: AuthTokenView["state"] = record.state === "active" || record.state === "sending" ? (record.accountId === undefined ? "pending" : "attached") : record.state;
      return { state, expiresAt: record.expiresAt };
    },

    list: accountTokenList(db),

    async revoke(id, actor) {
      // The fallback select reads the statement's snapshot, from before the update: it is what
      // comes back only when nothing was revoked, and then it is current.
      const result = await db.raw<{ rows: Array<TokenRow & { token_hash: string }> }>(
        `with revoked as (
           update ${table} set state = 'revoked', revoked_at = now()
            where id = ? and state in ('sending', 'active') and expires_at > now()
        returning ${recordColumns}, token_hash
         ), audited as (?)
         select * from revoked
         union all
         select ${recordColumns}, token_hash from ${table} where id = ? and not exists (select 1 from revoked)`,
        [id, audit(actor, "account_token.revoked", "revoked"), id],
      );
      const [row] = result.rows;
      return row === undefined ? null : { record: toRecord(row), tokenHash: row.token_hash };
    },
  };
}
