import DataLoader from "dataloader";
import type { OutboundMessage } from "../domain/messages/outboundMessage.js";
import type { SecretBox } from "../crypto/secretBox.js";
import type { Logger } from "../observability/logger.js";
import type { AttemptOutcome, AttemptRecord, ClaimedMessage, MessageQueue } from "./messageQueue.js";
import { retryDelayMs, type RetryPolicy } from "./retryPolicy.js";

/** What became of an outcome: recorded, not recorded since another relay holds the message, or its message is gone. */
type Recording = "recorded" | "taken_over" | "gone";
import type { Sender } from "./sender.js";

export interface OutboxRelayOptions {
  /** Messages claimed per round; they are sent concurrently. Default 20. */
  readonly batchSize?: number;
  /**
   * How often an idle relay looks for due messages, and the longest a relay goes without a claim
   * everywhere however many nudges keep it busy. Default 1000 ms.
   */
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
  /** Names the queue in the relay's own log lines, where an instance runs one relay per queue. Default "outbox". */
  readonly queueName?: string;
}

/** Where the next round claims: everywhere (a poll), or only the partitions nudged since. */
type ClaimScope = "everywhere" | ReadonlySet<number>;

/** What ended an idle wait. */
type Waking = "timer" | "nudge" | "stop";

function merged(one: ClaimScope, other: ClaimScope): ClaimScope {
  if (one === "everywhere" || other === "everywhere") return "everywhere";
  return new Set([...one, ...other]);
}

/** The outbox payload's authenticated context: a payload only opens for its own row. */
export function payloadContext(messageId: string): string {
  return `outbox:${messageId}`;
}

/**
 * Moves messages from a queue (the Postgres outbox, or the queue beside the pending secrets) to
 * their channels. Any number of relays (one per instance) can run against one queue: claims are
 * leases and outcomes are fenced by the queue, so each message is sent by one relay at a time.
 */
export class OutboxRelay {
  private readonly batchSize: number;
  private readonly pollIntervalMs: number;
  private readonly nudgeDelayMs: number;
  private readonly sendTimeoutMs: number;
  private readonly leaseMs: number;
  private readonly queueName: string;
  private lastTidy = 0;
  /**
   * When the last round that claimed everywhere ended (failed or not, so that a store that is down
   * is not hammered). Only a claim everywhere finds due retries, an un-nudged
   * message and a dead relay's leases; nudges name single partitions, so a steady stream of them
   * would otherwise keep the relay from ever sweeping (see loop).
   */
  private lastSweep = 0;
  /**
   * Outcomes that end in the same tick are written by one statement: a batch sent to a fast
   * channel costs one UPDATE instead of one per message, while each outcome is still written as
   * soon as its own send ends (waiting for the whole batch would widen the window in which a
   * relay that dies has sent messages it never recorded, which another relay then sends again).
   */
  private readonly outcomes: DataLoader<AttemptOutcome, Recording>;
  private running: Promise<void> | undefined;
  private stopping = false;
  private wake: ((reason: Waking) => void) | undefined;
  /** A nudge came while a round was running: that round may have missed its message. */
  private nudgedWhileBusy = false;
  private nudgeTimer: NodeJS.Timeout | undefined;
  /** Partitions nudged since the last claim; `nudgedEverywhere` when a nudge named none. */
  private nudged = new Set<number>();
  private nudgedEverywhere = false;

  constructor(
    private readonly queue: MessageQueue,
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
    this.queueName = options.queueName ?? "outbox";
    this.outcomes = new DataLoader(
      async (outcomes) => {
        const { recorded, takenOver } = await this.queue.record(outcomes);
        return outcomes.map(({ message }): Recording => (recorded.has(message.id) ? "recorded" : takenOver.has(message.id) ? "taken_over" : "gone"));
      },
      { cache: false, maxBatchSize: this.batchSize },
    );
  }

  start(): void {
    this.stopping = false;
    this.running ??= this.loop().finally(() => (this.running = undefined));
  }

  /**
   * Tells the relay a message was just queued (in `partition`, where the queue has them; the next
   * claim then looks only where it was told to): an idle relay claims after `nudgeDelayMs`, so that
   * a burst of messages costs one claim rather than one each; a busy one goes again as soon as
   * its round ends instead of waiting for the next poll.
   */
  nudge(partition?: number): void {
    if (partition === undefined) this.nudgedEverywhere = true;
    else this.nudged.add(partition);
    if (this.wake === undefined) {
      this.nudgedWhileBusy = true;
      return;
    }
    this.nudgeTimer ??= setTimeout(() => {
      this.nudgeTimer = undefined;
      this.wake?.("nudge");
    }, this.nudgeDelayMs);
  }

  /** Lets the batch in hand finish, then stops. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wake?.("stop");
    await this.running;
  }

  /**
   * One round: tidy the queue (once per poll interval), claim a batch, send it. Returns how many
   * were claimed. `partitions` narrows the claim (see MessageQueue.claim); default everywhere.
   */
  async runOnce(partitions?: ReadonlySet<number>): Promise<number> {
    try {
      if (Date.now() - this.lastTidy >= this.pollIntervalMs) {
        this.lastTidy = Date.now();
        await this.queue.tidy();
      }
      const batch = await this.queue.claim(this.batchSize, this.leaseMs, partitions);
      // Every send of the batch ends before the next claim (and before stop() resolves), even when
      // one outcome could not be recorded: that one's claim lapses and another relay takes it over.
      const settled = await Promise.allSettled(batch.map((message) => this.deliver(message)));
      for (const [index, result] of settled.entries()) {
        if (result.status === "rejected") {
          this.logger.error({ err: result.reason, messageId: batch[index]!.id, queue: this.queueName }, "could not record a delivery outcome");
        }
      }
      return batch.length;
    } finally {
      if (partitions === undefined) this.lastSweep = Date.now();
    }
  }

  private async loop(): Promise<void> {
    let scope: ClaimScope = "everywhere";
    while (!this.stopping) {
      // A sweep is due every poll interval, however busy the nudges keep the relay.
      if (scope !== "everywhere" && this.sweepDueInMs() === 0) scope = "everywhere";
      let claimed = 0;
      try {
        claimed = await this.runOnce(scope === "everywhere" ? undefined : scope);
      } catch (error) {
        // The store may be briefly unreachable; messages stay queued, so try again later.
        this.logger.error({ err: error, queue: this.queueName }, "outbox relay round failed");
      }
      if (this.stopping) break;
      if (claimed >= this.batchSize) {
        // A full batch: more may wait where this one came from, and wherever was nudged meanwhile.
        scope = merged(scope, this.takeNudged());
        continue;
      }
      const moreQueued = this.nudgedWhileBusy;
      this.nudgedWhileBusy = false;
      const woken = await this.idle(moreQueued ? Math.min(this.nudgeDelayMs, this.sweepDueInMs()) : this.sweepDueInMs());
      const nudged = this.takeNudged();
      // Only the poll sweeps everywhere (and the check at the top of the loop when nudges kept the
      // timer from firing); a nudge says where to look.
      scope = woken === "timer" && !moreQueued ? "everywhere" : nudged;
    }
  }

  /** Time left until the next sweep everywhere is due: a poll interval after the last one. */
  private sweepDueInMs(): number {
    return Math.max(0, this.lastSweep + this.pollIntervalMs - Date.now());
  }

  private takeNudged(): ClaimScope {
    const scope: ClaimScope = this.nudgedEverywhere ? "everywhere" : this.nudged;
    this.nudged = new Set();
    this.nudgedEverywhere = false;
    return scope;
  }

  private idle(forMs: number): Promise<Waking> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => done("timer"), forMs);
      timer.unref();
      const self = this;
      function done(reason: Waking) {
        clearTimeout(timer);
        clearTimeout(self.nudgeTimer);
        self.nudgeTimer = undefined;
        self.wake = undefined;
        resolve(reason);
      }
      this.wake = done;
    });
  }

  private async deliver(claimed: ClaimedMessage): Promise<void> {
    const outcome = await this.attempt(claimed);
    const recording = await this.outcomes.load({ message: claimed, outcome });
    // Taken over: this relay's lease ran out while it sent, so the message may go twice (a lease
    // shorter than a send). Gone: its code was used or revoked meanwhile, as every code checked
    // before its message went is; nothing to say.
    if (recording === "taken_over") this.logger.warn({ messageId: claimed.id, attempt: claimed.attempt, queue: this.queueName }, "outbox message was taken over by another relay");
  }

  private async attempt(claimed: ClaimedMessage): Promise<AttemptRecord> {
    if (claimed.payload === null) return { status: "dead", reason: "payload missing" };
    if (claimed.expiresAt.getTime() <= Date.now()) return { status: "expired", reason: "expired before it could be delivered" };
    // A claim taken over from a relay that died counts as an attempt: relays that keep dying on a
    // message must not send it without end.
    if (claimed.attempt > claimed.maxAttempts) return { status: "dead", reason: `gave up after ${claimed.maxAttempts} attempts` };
    let message: OutboundMessage;
    try {
      message = JSON.parse(this.box.open(claimed.payload, payloadContext(claimed.id))) as OutboundMessage;
    } catch (error) {
      this.logger.error({ err: error, messageId: claimed.id, queue: this.queueName }, "outbox payload cannot be opened");
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
