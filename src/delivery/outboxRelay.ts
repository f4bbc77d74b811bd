import DataLoader from "dataloader";
import type { OutboundMessage } from "../channels/channel.js";
import type { SecretBox } from "../crypto/secretBox.js";
import type { Logger } from "../observability/logger.js";
import type { AttemptOutcome, AttemptRecord, ClaimedMessage, OutboxStore } from "./outboxStore.js";
import { retryDelayMs, type RetryPolicy } from "./retryPolicy.js";
import type { Sender } from "./sender.js";

export interface OutboxRelayOptions {
  /** Messages claimed per round; they are sent concurrently. Default 20. */
  readonly batchSize?: number;
  /** How often an idle relay looks for due messages. Default 1000 ms. */
  readonly pollIntervalMs?: number;
  /**
   * How long a nudged relay waits before it claims, so that messages queued within that time are
   * claimed, sent and recorded together. Default 5 ms.
   */
  readonly nudgeDelayMs?: number;
  /** Deadline for one send. Default 10 000 ms. */
  readonly sendTimeoutMs?: number;
  /**
   * How long a claim holds a message. Must outlast a send: a relay that dies gives its messages
   * back after this. Default sendTimeoutMs + 20 000 ms.
   */
  readonly leaseMs?: number;
  readonly retry: RetryPolicy;
  /** Finished messages (sent, dead, expired, all without payload) are deleted after this. Default 7 days. */
  readonly retentionMs?: number;
}

// Purging is housekeeping: once a minute per relay is plenty, and it keeps the table's size
// proportional to traffic over the retention period rather than to all time.
const purgeIntervalMs = 60_000;
const purgeBatch = 1_000;

/** The outbox payload's authenticated context: a payload only opens for its own row. */
export function payloadContext(messageId: string): string {
  return `outbox:${messageId}`;
}

/**
 * Moves messages from the outbox to their channels. Any number of relays (one per instance) can
 * run against one outbox: claims are leases taken with SKIP LOCKED, and outcomes are fenced by
 * attempt number, so each message is sent by one relay at a time.
 */
export class OutboxRelay {
  private readonly batchSize: number;
  private readonly pollIntervalMs: number;
  private readonly nudgeDelayMs: number;
  private readonly sendTimeoutMs: number;
  private readonly leaseMs: number;
  private readonly retentionMs: number;
  private lastPurge = 0;
  private lastExpiry = 0;
  /**
   * Outcomes that end in the same tick are written by one statement: a batch sent to a fast
   * channel costs one UPDATE instead of one per message, while each outcome is still written as
   * soon as its own send ends (waiting for the whole batch would widen the window in which a
   * relay that dies has sent messages it never recorded, which another relay then sends again).
   */
  private readonly outcomes: DataLoader<AttemptOutcome, boolean>;
  private running: Promise<void> | undefined;
  private stopping = false;
  private wake: (() => void) | undefined;
  /** A nudge came while a round was running: that round may have missed its message. */
  private nudgedWhileBusy = false;
  private nudgeTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: OutboxStore,
    private readonly box: SecretBox,
    private readonly sender: Sender,
    private readonly logger: Logger,
    private readonly options: OutboxRelayOptions,
  ) {
    this.batchSize = options.batchSize ?? 20;
    this.pollIntervalMs = options.pollIntervalMs ?? 1_000;
    this.nudgeDelayMs = options.nudgeDelayMs ?? 5;
    this.sendTimeoutMs = options.sendTimeoutMs ?? 10_000;
    this.leaseMs = options.leaseMs ?? this.sendTimeoutMs + 20_000;
    this.retentionMs = options.retentionMs ?? 7 * 24 * 3_600_000;
    this.outcomes = new DataLoader(
      async (outcomes) => {
        const recorded = await this.store.record(outcomes);
        return outcomes.map(({ message }) => recorded.has(message.id));
      },
      { cache: false, maxBatchSize: this.batchSize },
    );
  }

  start(): void {
    this.stopping = false;
    this.running ??= this.loop().finally(() => (this.running = undefined));
  }

  /**
   * Tells the relay a message was just queued: an idle relay claims after `nudgeDelayMs`, so that
   * a burst of messages costs one claim rather than one each; a busy one goes again as soon as
   * its round ends instead of waiting for the next poll.
   */
  nudge(): void {
    if (this.wake === undefined) {
      this.nudgedWhileBusy = true;
      return;
    }
    this.nudgeTimer ??= setTimeout(() => {
      this.nudgeTimer = undefined;
      this.wake?.();
    }, this.nudgeDelayMs);
  }

  /** Lets the batch in hand finish, then stops. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    await this.running;
  }

  /** One round: expire what is overdue, claim a batch, send it. Returns how many were claimed. */
  async runOnce(): Promise<number> {
    if (Date.now() - this.lastPurge >= purgeIntervalMs) {
      this.lastPurge = Date.now();
      await this.store.purgeFinished(this.retentionMs, purgeBatch);
    }
    // Bookkeeping only (claims skip expired rows anyway), so once per poll interval is enough.
    if (Date.now() - this.lastExpiry >= this.pollIntervalMs) {
      this.lastExpiry = Date.now();
      await this.store.expireOverdue();
    }
    const batch = await this.store.claim(this.batchSize, this.leaseMs);
    await Promise.all(batch.map((message) => this.deliver(message)));
    return batch.length;
  }

  private async loop(): Promise<void> {
    while (!this.stopping) {
      let claimed = 0;
      try {
        claimed = await this.runOnce();
      } catch (error) {
        // The database may be briefly unreachable; messages stay queued, so try again later.
        this.logger.error({ err: error }, "outbox relay round failed");
      }
      const moreQueued = this.nudgedWhileBusy;
      this.nudgedWhileBusy = false;
      if (claimed < this.batchSize && !this.stopping) await this.idle(moreQueued ? this.nudgeDelayMs : this.pollIntervalMs);
    }
  }

  private idle(forMs: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, forMs);
      timer.unref();
      const self = this;
      function done() {
        clearTimeout(timer);
        clearTimeout(self.nudgeTimer);
        self.nudgeTimer = undefined;
        self.wake = undefined;
        resolve();
      }
      this.wake = done;
    });
  }

  private async deliver(claimed: ClaimedMessage): Promise<void> {
    const outcome = await this.attempt(claimed);
    const recorded = await this.outcomes.load({ message: claimed, outcome });
    if (!recorded) this.logger.warn({ messageId: claimed.id, attempt: claimed.attempt }, "outbox message was taken over by another relay");
  }

  private async attempt(claimed: ClaimedMessage): Promise<AttemptRecord> {
    if (claimed.payload === null) return { status: "dead", reason: "payload missing" };
    if (claimed.expiresAt.getTime() <= Date.now()) return { status: "expired", reason: "expired before it could be delivered" };
    let message: OutboundMessage;
    try {
      message = JSON.parse(this.box.open(claimed.payload, payloadContext(claimed.id))) as OutboundMessage;
    } catch (error) {
      this.logger.error({ err: error, messageId: claimed.id }, "outbox payload cannot be opened");
      return { status: "dead", reason: "payload cannot be opened (encryption key missing?)" };
    }
    const outcome = await this.sender.send(message, this.sendTimeoutMs, {
      messageId: claimed.id,
      template: claimed.template,
      attempt: claimed.attempt,
    });
    switch (outcome.status) {
      case "accepted":
        return { status: "sent" };
      case "rejected":
        return { status: "dead", reason: outcome.reason };
      case "failed": {
        if (claimed.attempt >= claimed.maxAttempts) return { status: "dead", reason: `gave up after ${claimed.attempt} attempts: ${outcome.reason}` };
        const delayMs = retryDelayMs(this.options.retry, claimed.attempt, outcome.retryAfterMs);
        // A retry after the code has expired would deliver a dead code: stop now instead.
        if (Date.now() + delayMs >= claimed.expiresAt.getTime()) return { status: "expired", reason: `would retry after expiry: ${outcome.reason}` };
        return { status: "retry", reason: outcome.reason, delayMs };
      }
    }
  }
}
