import type { MessageKind } from "../domain/messages/outboundMessage.js";

/** A message waiting in a queue, as the relay sees it once it has claimed it. */
export interface ClaimedMessage {
  readonly id: string;
  readonly kind: MessageKind;
  readonly template: string | null;
  readonly reference: string | null;
  /** Sealed payload; null only if the message was finished by someone else meanwhile. */
  readonly payload: string | null;
  /** This attempt's number (1 for the first). */
  readonly attempt: number;
  readonly maxAttempts: number;
  readonly expiresAt: Date;
  /**
   * What the queue needs to find and fence this claim when its outcome is recorded, opaque to the
   * relay (a Redis shard, entry and delivery count). Absent where the attempt number is enough.
   */
  readonly receipt?: string;
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
 * Where messages wait for the relay: the Postgres outbox, or the queue beside the pending secrets
 * (Redis streams, or process memory). Several relays (one per instance) may claim from one queue
 * at once; a claim is a lease, so a relay that dies mid-batch gives its messages back when the
 * lease ends, and an outcome is recorded only while its claim still holds. Leases and due times
 * are measured by the queue's own clock, shared by every instance.
 */
export interface MessageQueue {
  /**
   * Claims up to `limit` due messages for `leaseMs`. Where the queue keeps no lease per message
   * (Redis streams keep only how long a claim has been idle), `leaseMs` is also how long another
   * relay's claim must have been idle for this one to take it over: relays of one deployment
   * share the setting. `partitions` narrows the claim to the parts
   * of the queue a nudge named (see `onQueued` of the secret stores); omitted, it looks everywhere.
   * A queue without partitions ignores it.
   */
  claim(limit: number, leaseMs: number, partitions?: ReadonlySet<number>): Promise<ClaimedMessage[]>;
  /**
   * Records attempts' outcomes, each only if its claim still holds. Answers the ids recorded, and
   * those another relay holds now (its lease ran out: the message may go twice). An id in neither
   * is gone: its secret was used, revoked or replaced while it was being sent, which is no fault.
   */
  record(outcomes: readonly AttemptOutcome[]): Promise<RecordedOutcomes>;
  /** Housekeeping, once per poll interval: what stays behind must not grow without bound. */
  tidy(): Promise<void>;
  /** What waits to be sent, for the metrics: a growing backlog or an old message means delivery is stuck. */
  backlog(): Promise<Backlog>;
}

export interface RecordedOutcomes {
  readonly recorded: ReadonlySet<string>;
  readonly takenOver: ReadonlySet<string>;
}

export interface Backlog {
  /** Messages not yet sent nor given up: waiting, leased to a relay, or due for a retry. */
  readonly waiting: number;
  /** When the oldest of them was queued (a Redis retry counts from its requeue); null when none waits. */
  readonly oldestQueuedAt: Date | null;
}
