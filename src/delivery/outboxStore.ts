import type { MessageKind } from "../channels/channel.js";

/** A message waiting in the outbox, as the relay sees it once it has claimed it. */
export interface ClaimedMessage {
  readonly id: string;
  readonly kind: MessageKind;
  readonly template: string | null;
  readonly reference: string | null;
  /** Sealed payload; null only if the row was finished by someone else meanwhile. */
  readonly payload: string | null;
  /** This attempt's number (1 for the first), also the fencing token for recording its outcome. */
  readonly attempt: number;
  readonly maxAttempts: number;
  readonly expiresAt: Date;
}

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

/** How a claimed attempt ended, from the relay's point of view. */
export type AttemptRecord =
  | { readonly status: "sent" }
  | { readonly status: "dead"; readonly reason: string }
  | { readonly status: "expired"; readonly reason: string }
  | { readonly status: "retry"; readonly reason: string; readonly delayMs: number };

export interface AttemptOutcome {
  readonly message: ClaimedMessage;
  readonly outcome: AttemptRecord;
}

/**
 * The durable queue behind delivery. Several relays (one per instance) may claim from it at once;
 * a claim is a lease, so a relay that dies mid-batch gives its messages back when the lease ends.
 * Time is the database's clock, shared by every instance.
 */
export interface OutboxStore {
  /** Records a message; pass the caller's transaction so it commits with the record that needs it. */
  enqueue(message: NewOutboxMessage, transaction?: unknown): Promise<void>;
  /** Claims up to `limit` due, unexpired messages for `leaseMs`. */
  claim(limit: number, leaseMs: number): Promise<ClaimedMessage[]>;
  /**
   * Records attempts' outcomes, each only if its claim is still that attempt's; finished rows lose
   * their payload. Returns the ids recorded: a missing one was taken over by another relay since.
   */
  record(outcomes: readonly AttemptOutcome[]): Promise<ReadonlySet<string>>;
  /** Finishes unfinished messages past their expiry (scrubbing payloads); returns how many. */
  expireOverdue(): Promise<number>;
  /** Deletes up to `limit` finished messages older than `olderThanMs`; returns how many. */
  purgeFinished(olderThanMs: number, limit: number): Promise<number>;
}
