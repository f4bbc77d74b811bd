import { randomUUID } from "node:crypto";
import type { StoreCalls } from "../../observability/storeCalls.js";
import { assertNoClientKeyPrefix, type RedisClient } from "./redisClient.js";
import type { AttemptOutcome, Backlog, ClaimedMessage, MessageQueue, RecordedOutcomes } from "../../delivery/messageQueue.js";
import { allSecretShards, defaultSecretShardCount } from "../secretShards.js";
import { decodeClaims, decodeInteger, decodeRecorded, type ShardClaim } from "./redisReplies.js";
import { defineScriptCommands, type ScriptCommand } from "./redisScriptCommands.js";
import { claimScript, recordScript, tidyScript } from "./secretQueueScripts.js";
import { assertKeyPrefix, relayGroup, shardKeys } from "./secretKeyspace.js";
import { rerecordShardCount } from "./shardCountGuard.js";

export interface RedisSecretQueueOptions {
  /** Where each script call is observed (span, metrics); unobserved by default. */
  readonly calls?: StoreCalls;
  /** The client to use; it may be the pending secrets' client. Must not set ioredis' own keyPrefix. */
  readonly redis: RedisClient;
  /** The pending secrets' keyPrefix: the queue lives beside them. Default "onetime:". */
  readonly keyPrefix?: string;
  /** The pending secrets' shard count: the queue has as many streams. Default 16. */
  readonly shardCount?: number;
  /** This relay's name in the consumer group: unique per queue object. Default a random UUID. */
  readonly consumer?: string;
  /** Consumers holding nothing and unseen for this long are forgotten by tidy(). Default 1 hour. */
  readonly forgetConsumersAfterMs?: number;
  /** tidy() does its work at most this often. Default 60 000 ms. */
  readonly tidyIntervalMs?: number;
}

/**
 * The queue of messages stored beside their secrets by RedisPendingSecrets, as a relay sees it:
 * one stream per shard with one consumer group of relays, each claim one script per shard. Give
 * each relay its own queue object, since the object is that relay's consumer.
 */
export class RedisSecretQueue implements MessageQueue {
  readonly #scripts: Record<"claim" | "record" | "tidy", ScriptCommand>;
  readonly #redis: RedisClient;
  readonly #keyPrefix: string;
  readonly #shards: readonly number[];
  readonly #consumer: string;
  readonly #forgetAfterMs: number;
  readonly #tidyIntervalMs: number;
  #lastTidy = 0;
  /** Where the next full sweep starts, so that a busy shard early in the order does not starve the rest. */
  #nextShard = 0;

  constructor(options: RedisSecretQueueOptions) {
    assertNoClientKeyPrefix(options.redis, "RedisSecretQueue");
    this.#redis = options.redis;
    this.#keyPrefix = options.keyPrefix ?? "onetime:";
    assertKeyPrefix(this.#keyPrefix);
    this.#shards = allSecretShards(options.shardCount ?? defaultSecretShardCount);
    this.#scripts = defineScriptCommands(options.redis, "onetimeQueue", { claim: claimScript, record: recordScript, tidy: tidyScript }, options.calls);
    this.#consumer = options.consumer ?? randomUUID();
    this.#forgetAfterMs = options.forgetConsumersAfterMs ?? 3_600_000;
    this.#tidyIntervalMs = options.tidyIntervalMs ?? 60_000;
  }

  /** This queue's name in the consumer group. */
  get consumer(): string {
    return this.#consumer;
  }

  async claim(limit: number, leaseMs: number, partitions?: ReadonlySet<number>): Promise<ClaimedMessage[]> {
    const shards = partitions === undefined ? this.#sweepOrder() : [...partitions].filter((shard) => shard >= 0 && shard < this.#shards.length);
    const claimed: ClaimedMessage[] = [];
    // One shard after another, each asked only for what is still missing: a claim holds what
    // it returns, so asking every shard for the whole batch at once would lease more than is sent.
    let failure: unknown;
    for (const shard of shards) {
      if (claimed.length >= limit) break;
      const { stream, retries, live } = shardKeys(this.#keyPrefix, shard);
      try {
        const reply = await this.#scripts.claim(undefined, [stream, retries, live], relayGroup, this.#consumer, limit - claimed.length, Math.ceil(leaseMs));
        const now = Date.now();
        for (const claim of decodeClaims(reply)) claimed.push(claimedMessage(shard, claim, now));
      } catch (error) {
        // What other shards handed over is leased to this relay now: send it rather than leave
        // it waiting a whole lease because one shard (one Cluster node, say) failed.
        failure ??= error;
      }
    }
    if (claimed.length === 0 && failure !== undefined) throw failure;
    return claimed;
  }

  async record(outcomes: readonly AttemptOutcome[]): Promise<RecordedOutcomes> {
    const byShard = new Map<number, { entryId: string; messageId: string; args: (string | number)[] }[]>();
    for (const { message, outcome } of outcomes) {
      const receipt = parseReceipt(message.receipt);
      if (receipt === undefined) continue;
      const delayMs = outcome.status === "retry" ? Math.max(0, Math.round(outcome.delayMs)) : 0;
      const args = [receipt.entryId, receipt.deliveries, outcome.status, delayMs, message.attempt + 1];
      const list = byShard.get(receipt.shard) ?? [];
      list.push({ entryId: receipt.entryId, messageId: message.id, args });
      byShard.set(receipt.shard, list);
    }
    const recorded = new Set<string>();
    const takenOver = new Set<string>();
    // Every shard's outcomes are written even if another shard's fail: those are then simply not
    // recorded (their claims lapse and are taken over), as the relay expects of a missing id.
    await Promise.allSettled(
      [...byShard].map(async ([shard, list]) => {
        const { stream, retries } = shardKeys(this.#keyPrefix, shard);
        const reply = await this.#scripts.record(undefined, [stream, retries], relayGroup, this.#consumer, ...list.flatMap((each) => each.args));
        const [done, held] = decodeRecorded(reply);
        for (const each of list) {
          if (done.has(each.entryId)) recorded.add(each.messageId);
          else if (held.has(each.entryId)) takenOver.add(each.messageId);
        }
      }),
    );
    return { recorded, takenOver };
  }

  async tidy(): Promise<void> {
    if (Date.now() - this.#lastTidy < this.#tidyIntervalMs) return;
    this.#lastTidy = Date.now();
    await Promise.all([
      ...this.#shards.map(async (shard) => {
        const reply = await this.#scripts.tidy(undefined, [shardKeys(this.#keyPrefix, shard).stream], relayGroup, this.#forgetAfterMs);
        decodeInteger("tidy", reply);
      }),
      rerecordShardCount(this.#redis, this.#keyPrefix, this.#shards.length),
    ]);
  }

  /**
   * Each shard's stream length and retry set, and its first entry, whose id is the time it was
   * (re)queued: read-only commands, one round of them per shard, run in parallel at scrape time.
   */
  async backlog(): Promise<Backlog> {
    const shards = await Promise.all(
      this.#shards.map(async (shard) => {
        const { stream, retries } = shardKeys(this.#keyPrefix, shard);
        const [length, retrying, first] = await Promise.all([
          this.#redis.xlen(stream),
          this.#redis.zcard(retries),
          this.#redis.xrange(stream, "-", "+", "COUNT", 1),
        ]);
        const firstId = first[0]?.[0];
        return { waiting: length + retrying, oldest: firstId === undefined ? undefined : Number(firstId.split("-")[0]) };
      }),
    );
    const oldest = Math.min(...shards.map((shard) => shard.oldest ?? Infinity));
    return { waiting: shards.reduce((sum, shard) => sum + shard.waiting, 0), oldestQueuedAt: Number.isFinite(oldest) ? new Date(oldest) : null };
  }

  /** Every shard once, starting one further along each time. */
  #sweepOrder(): number[] {
    const start = this.#nextShard;
    this.#nextShard = (start + 1) % this.#shards.length;
    return this.#shards.map((_, index) => (start + index) % this.#shards.length);
  }
}

function claimedMessage(shard: number, claim: ShardClaim, now: number): ClaimedMessage {
  return {
    id: claim.id,
    kind: claim.kind,
    template: claim.template === "" ? null : claim.template,
    reference: claim.reference === "" ? null : claim.reference,
    payload: claim.payload,
    attempt: claim.attempt,
    maxAttempts: claim.maxAttempts,
    // Relative to Redis' clock, anchored to ours: the two never have to agree.
    expiresAt: new Date(now + claim.ttlMs),
    receipt: `${shard}/${claim.entryId}/${claim.deliveries}`,
  };
}

function parseReceipt(receipt: string | undefined): { shard: number; entryId: string; deliveries: number } | undefined {
  const match = /^(\d+)\/(\d+-\d+)\/(\d+)$/.exec(receipt ?? "");
  if (match === null) return undefined;
  return { shard: Number(match[1]), entryId: match[2]!, deliveries: Number(match[3]) };
}
