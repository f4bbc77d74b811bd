import type { MessageQueue } from "./messageQueue.js";
import type { NewOutboxMessage } from "../domain/messages/messageDelivery.js";

export type { AttemptOutcome, AttemptRecord, ClaimedMessage } from "./messageQueue.js";

/**
 * The durable queue for messages whose records live in Postgres: a message is enqueued in its
 * record's transaction, so it exists exactly when the record does. Claims are fenced by attempt
 * number; time is the database's clock, shared by every instance.
 */
export interface OutboxStore extends MessageQueue {
  /** Records a message, or several in one statement; pass the caller's transaction so they commit with the record that needs them. */
  enqueue(message: NewOutboxMessage | readonly NewOutboxMessage[], transaction?: unknown): Promise<void>;
  /** Finishes unfinished messages past their expiry (scrubbing payloads); returns how many. */
  expireOverdue(): Promise<number>;
}
