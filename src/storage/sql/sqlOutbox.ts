import type { Knex } from "knex";
import type { MessageKind } from "../../domain/messages/outboundMessage.js";
import type { AttemptRecord } from "../../delivery/messageQueue.js";
import type { OutboxStore } from "../../delivery/outboxStore.js";
import type { NewOutboxMessage } from "../../domain/messages/messageDelivery.js";
import type { Database } from "./database.js";

interface ClaimedRow {
  id: string;
  kind: MessageKind;
  template: string | null;
  reference: string | null;
  payload: string | null;
  attempts: number;
  max_attempts: number;
  expires_at: Date | string;
}

const table = "outbox_messages";

/**
 * The outbox in Postgres or PGlite. Finished rows (sent, dead, expired, all without payload) are
 * deleted by the retention purge after OUTBOX_RETENTION_HOURS (src/retention), not here.
 */
export function sqlOutbox(db: Database): OutboxStore {
  const outbox: OutboxStore = {
    async enqueue(messages: NewOutboxMessage | readonly NewOutboxMessage[], transaction?: unknown) {
      const executor = (transaction as Knex.Transaction | undefined) ?? db;
      const rows = (Array.isArray(messages) ? messages : [messages]) as readonly NewOutboxMessage[];
      if (rows.length === 0) return;
      await executor(table).insert(
        rows.map((message) => ({
          id: message.id,
          kind: message.kind,
          template: message.template ?? null,
          reference: message.reference ?? null,
          payload: message.sealedPayload,
          max_attempts: message.maxAttempts,
          expires_at: message.expiresAt,
        })),
      );
    },

    async claim(limit, leaseMs) {
      // One statement: pick due rows nobody else holds (SKIP LOCKED), lease them and count the
      // attempt. A row whose lease ran out (its relay died) is due again.
      const result = await db.raw<{ rows: ClaimedRow[] }>(
        `with due as (
           select id from ${table}
            where expires_at > now()
              and ((status = 'pending' and next_attempt_at <= now())
                or (status = 'sending' and lease_until <= now()))
            order by next_attempt_at
            limit ?
            for update skip locked
         )
         update ${table} m
            set status = 'sending',
                lease_until = now() + ? * interval '1 millisecond',
                attempts = m.attempts + 1,
                updated_at = now()
           from due
          where m.id = due.id
      returning m.id, m.kind, m.template, m.reference, m.payload, m.attempts, m.max_attempts, m.expires_at`,
        [limit, leaseMs],
      );
      return result.rows.map((row) => ({
        id: row.id,
        kind: row.kind,
        template: row.template,
        reference: row.reference,
        payload: row.payload,
        attempt: row.attempts,
        maxAttempts: row.max_attempts,
        expiresAt: new Date(row.expires_at),
      }));
    },

    async record(outcomes) {
      if (outcomes.length === 0) return { recorded: new Set<string>(), takenOver: new Set<string>() };
      // One statement for the whole batch, each row fenced by its attempt number: a relay whose
      // lease expired and was taken over cannot overwrite the newer attempt's state.
      const result = await db.raw<{ rows: { id: string }[] }>(
        `update ${table} m
            set status = v.status,
                payload = case when v.status = 'pending' then m.payload end,
                lease_until = null,
                last_error = nullif(v.last_error, ''),
                next_attempt_at = case when v.status = 'pending' then now() + v.delay_ms * interval '1 millisecond' else m.next_attempt_at end,
                finished_at = case when v.status = 'pending' then null else now() end,
                updated_at = now()
           from unnest(?::uuid[], ?::int[], ?::text[], ?::text[], ?::bigint[]) as v(id, attempt, status, last_error, delay_ms)
          where m.id = v.id and m.status = 'sending' and m.attempts = v.attempt
      returning m.id`,
        [
          outcomes.map(({ message }) => message.id),
          outcomes.map(({ message }) => message.attempt),
          outcomes.map(({ outcome }) => rowStatus(outcome)),
          // Arrays of text cannot carry null through knex's bindings: '' stands for "no error".
          outcomes.map(({ outcome }) => (outcome.status === "sent" ? "" : outcome.reason.slice(0, 512))),
          outcomes.map(({ outcome }) => (outcome.status === "retry" ? Math.round(outcome.delayMs) : 0)),
        ],
      );
      const recorded = new Set(result.rows.map((row) => row.id));
      // A row stays until long after it finished (the retention purge): one not recorded is held by a newer attempt.
      const takenOver = new Set(outcomes.map(({ message }) => message.id).filter((id) => !recorded.has(id)));
      return { recorded, takenOver };
    },

    async backlog() {
      const row = await db(table)
        .whereIn("status", ["pending", "sending"])
        .first(db.raw("count(*)::int as waiting"), db.raw("min(created_at) as oldest"));
      const oldest = (row as { waiting: number; oldest: Date | string | null } | undefined)?.oldest ?? null;
      return { waiting: (row as { waiting: number } | undefined)?.waiting ?? 0, oldestQueuedAt: oldest === null ? null : new Date(oldest) };
    },

    async expireOverdue() {
      return db(table)
        .where("expires_at", "<=", db.fn.now())
        .andWhere((query) =>
          query.where("status", "pending").orWhere((sending) => sending.where("status", "sending").andWhere("lease_until", "<=", db.fn.now())),
        )
        .update({
          status: "expired",
          payload: null,
          lease_until: null,
          last_error: "expired before it could be delivered",
          finished_at: db.fn.now(),
          updated_at: db.fn.now(),
        });
    },

    async tidy() {
      // Bookkeeping only (claims skip expired rows anyway), so once per poll is enough.
      await outbox.expireOverdue();
    },
  };
  return outbox;
}

/** A retry goes back to pending; every other outcome finishes the row under its own name. */
function rowStatus(outcome: AttemptRecord): string {
  return outcome.status === "retry" ? "pending" : outcome.status;
}
