import type { AttemptOutcome, Backlog, ClaimedMessage, MessageQueue, RecordedOutcomes } from "../../delivery/messageQueue.js";
import type { QueuedMessage } from "../../domain/messages/messageDelivery.js";

/** Answers whether the secret under `key` still names message `messageId`, and for how long it lives. */
export type SecretLookup = (key: string, messageId: string, now: number) => { readonly ttlMs: number } | undefined;

interface Entry {
  readonly seq: number;
  readonly shard: number;
  readonly key: string;
  readonly message: QueuedMessage;
  /** The attempt the next claim makes, before counting claims whose relay never recorded. */
  attempt: number;
  /** Claims since it was queued or retried: a claim's receipt, and what fences its outcome. */
  deliveries: number;
  dueAt: number;
  leaseUntil: number | undefined;
  /** When it was first queued; a retry keeps it. */
  readonly queuedAt: number;
}

/** A claim looks at no more than this many entries per message asked for (as the Redis script). */
const claimScanFactor = 10;

/**
 * The embedded queue beside MemoryPendingSecrets, with RedisSecretQueue's semantics: a claim is a
 * lease that another claim takes over once it runs out, an outcome counts only from the claim
 * that still holds the entry, and a message whose secret is gone (or names another message) is
 * dropped, never returned. Single process: no other instance can see it.
 */
export class MemorySecretQueue implements MessageQueue {
  /** In queueing order, which a retry re-enters at the back, as in a Redis stream. */
  readonly #entries = new Map<number, Entry>();
  #seq = 0;

  constructor(
    private readonly lookup: SecretLookup,
    private readonly now: () => number,
  ) {}

  /** Entries held (waiting, leased or due for a retry); for tests. */
  get size(): number {
    return this.#entries.size;
  }

  /** Called by the store in the same step as the secret's write. */
  add(shard: number, key: string, message: QueuedMessage): void {
    this.#put({ seq: 0, shard, key, message, attempt: 1, deliveries: 0, dueAt: this.now(), leaseUntil: undefined, queuedAt: this.now() });
  }

  async backlog(): Promise<Backlog> {
    let oldest: number | undefined;
    for (const entry of this.#entries.values()) oldest = Math.min(oldest ?? entry.queuedAt, entry.queuedAt);
    return { waiting: this.#entries.size, oldestQueuedAt: oldest === undefined ? null : new Date(oldest) };
  }

  async claim(limit: number, leaseMs: number, partitions?: ReadonlySet<number>): Promise<ClaimedMessage[]> {
    const now = this.now();
    const claimed: ClaimedMessage[] = [];
    // As on Redis: dropped entries do not use up the batch, but a claim looks at no more than
    // limit x claimScanFactor entries, so that it stays short however many dead ones pile up.
    let scanLeft = limit * claimScanFactor;
    for (const entry of [...this.#entries.values()]) {
      if (claimed.length >= limit || scanLeft <= 0) break;
      if (partitions !== undefined && !partitions.has(entry.shard)) continue;
      if (entry.dueAt > now || (entry.leaseUntil !== undefined && entry.leaseUntil > now)) continue;
      scanLeft -= 1;
      const secret = this.lookup(entry.key, entry.message.id, now);
      if (secret === undefined) {
        this.#entries.delete(entry.seq);
        continue;
      }
      entry.deliveries += 1;
      entry.leaseUntil = now + leaseMs;
      const { message } = entry;
      claimed.push({
        id: message.id,
        kind: message.kind,
        template: message.template ?? null,
        reference: message.reference ?? null,
        payload: message.sealedPayload,
        // A claim whose relay never recorded it counts as an attempt, as in Redis and Postgres.
        attempt: entry.attempt + entry.deliveries - 1,
        maxAttempts: message.maxAttempts,
        expiresAt: new Date(Date.now() + secret.ttlMs),
        receipt: `${entry.seq}/${entry.deliveries}`,
      });
    }
    return claimed;
  }

  async record(outcomes: readonly AttemptOutcome[]): Promise<RecordedOutcomes> {
    const recorded = new Set<string>();
    const takenOver = new Set<string>();
    const now = this.now();
    for (const { message, outcome } of outcomes) {
      const [seq, deliveries] = (message.receipt ?? "").split("/").map(Number);
      const entry = seq === undefined ? undefined : this.#entries.get(seq);
      if (entry === undefined || entry.leaseUntil === undefined) continue;
      if (entry.deliveries !== deliveries) {
        takenOver.add(message.id);
        continue;
      }
      this.#entries.delete(entry.seq);
      if (outcome.status === "retry") {
        this.#put({ ...entry, attempt: message.attempt + 1, deliveries: 0, dueAt: now + outcome.delayMs, leaseUntil: undefined });
      }
      recorded.add(message.id);
    }
    return { recorded, takenOver };
  }

  /** Drops messages whose secret is gone, so nothing waits for a relay that would only drop them. */
  async tidy(): Promise<void> {
    const now = this.now();
    for (const entry of [...this.#entries.values()]) {
      if (entry.leaseUntil === undefined && this.lookup(entry.key, entry.message.id, now) === undefined) this.#entries.delete(entry.seq);
    }
  }

  /** Forgets everything. */
  clear(): void {
    this.#entries.clear();
  }

  #put(entry: Entry): void {
    const seq = ++this.#seq;
    this.#entries.set(seq, { ...entry, seq });
  }
}
