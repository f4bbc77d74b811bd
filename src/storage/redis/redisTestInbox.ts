import { testInboxCapacity, testInboxRetentionMs, type TestInbox, type TestMessage, type TestOutcome } from "../../delivery/testInbox.js";
import type { MessageKind } from "../../domain/messages/outboundMessage.js";
import type { RedisClient } from "./redisClient.js";

interface StoredMessage {
  readonly kind: MessageKind;
  readonly destination: string;
  readonly subject: string;
  readonly text: string;
  readonly data: Record<string, string>;
  readonly createTime: string;
  readonly outcome: TestOutcome;
  readonly attempt: number;
}

/**
 * Test mode's inbox in Redis, shared by every instance: one list of every message and one per
 * destination, newest first, each capped and expiring an hour after its last message. One hash
 * tag keeps them on one slot, so a message joins both lists at once on a Redis Cluster too.
 */
export class RedisTestInbox implements TestInbox {
  private readonly prefix: string;

  constructor(
    private readonly redis: RedisClient,
    keyPrefix: string,
  ) {
    this.prefix = `${keyPrefix}{test-inbox}:`;
  }

  async countAttempt(messageKey: string): Promise<number> {
    const key = `${this.prefix}attempts:${messageKey}`;
    const results = await this.redis.multi().incr(key).pexpire(key, testInboxRetentionMs).exec();
    const [error, count] = results?.[0] ?? [new Error("the attempt count was not answered"), undefined];
    if (error !== null) throw error;
    return Number(count);
  }

  async add(message: TestMessage): Promise<void> {
    const stored: StoredMessage = { ...message, data: { ...message.data }, createTime: message.createTime.toISOString() };
    const value = JSON.stringify(stored);
    const transaction = this.redis.multi();
    for (const key of [this.allKey(), this.destinationKey(message.destination)]) {
      transaction.lpush(key, value).ltrim(key, 0, testInboxCapacity - 1).pexpire(key, testInboxRetentionMs);
    }
    const results = await transaction.exec();
    const failed = results?.find(([error]) => error !== null);
    if (failed !== undefined) throw failed[0];
  }

  async list(destination: string | undefined, limit: number): Promise<readonly TestMessage[]> {
    const values = await this.redis.lrange(destination === undefined ? this.allKey() : this.destinationKey(destination), 0, limit - 1);
    return values.map((value) => {
      const stored = JSON.parse(value) as StoredMessage;
      return { ...stored, createTime: new Date(stored.createTime) };
    });
  }

  private allKey(): string {
    return `${this.prefix}all`;
  }

  private destinationKey(destination: string): string {
    return `${this.prefix}to:${destination}`;
  }
}
