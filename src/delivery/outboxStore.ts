import type { MessageKind } from "../channels/channel.js";
import type { MessageQueue } from "./messageQueue.js";

export type { AttemptOutcome, AttemptRecord, ClaimedMessage } from "./messageQueue.js";

export interface NewOutboxMessage {
  readonly id: string;
  readonly kind: MessageKind;
  /** Which template rendered it, for logs and metrics. */
  readonly template?: string;
  /** What it belongs to (a verification id, a token id), for tracing. */
  readonly reference?: string;
  readonly sealedPayload: string;
  readonly maxAttempts: number;
  /** After this the message is never sent: its code would no longer work. */
  readonly expiresAt: Date;
}

/**
 * The durable queue for messages whose records live in Postgres: a message is enqueued in its
 * record's transaction, so it exists exactly when the record does. Claims are fenced by attempt
 * number; time is the database's clock, shared by every instance.
 */
export interface OutboxStore extends MessageQueue {
  /** Records a message; pass the caller's transaction so it commits with the record that needs it. */
  enqueue(message: NewOutboxMessage, transaction?: unknown): Promise<void>;
  /** Finishes unfinished messages past their expiry (scrubbing payloads); returns how many. */
  expireOverdue(): Promise<number>;
  /** Deletes up to `limit` finished messages older than `olderThanMs`; returns how many. */
  purgeFinished(olderThanMs: number, limit: number): Promise<number>;
}
