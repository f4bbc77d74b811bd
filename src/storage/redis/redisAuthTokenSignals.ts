import type { Redis } from "ioredis";
import type { AuthTokenSignals } from "../../domain/accountTokens/authTokenSignals.js";
import type { Logger } from "../../observability/logger.js";
import { TokenListeners } from "../memory/memoryAuthTokenSignals.js";

/**
 * Auth token signals over Redis pub/sub: one channel for the deployment, the token's keyed hash as
 * the message. Each instance subscribes once at start on a connection of its own (a subscribed
 * connection can do nothing else) and dispatches to its watchers, so a watch costs no Redis
 * command at all and an attach one PUBLISH. Attaches are rare next to everything else, so
 * every instance hearing every one is cheaper than a subscription per watcher. Classic pub/sub
 * reaches every node of a Redis Cluster.
 */
export class RedisAuthTokenSignals implements AuthTokenSignals {
  readonly #listeners = new TokenListeners();

  private constructor(
    private readonly publisher: Redis,
    private readonly subscriber: Redis,
    private readonly channel: string,
  ) {}

  static async open(options: { readonly redis: Redis; readonly keyPrefix: string; readonly logger: Logger }): Promise<RedisAuthTokenSignals> {
    const subscriber = options.redis.duplicate({ lazyConnect: true, enableOfflineQueue: true });
    subscriber.on("error", (error: Error) => options.logger.warn({ err: error }, "redis subscriber connection error"));
    const signals = new RedisAuthTokenSignals(options.redis, subscriber, `${options.keyPrefix}auth-token-changed`);
    subscriber.on("message", (channel: string, tokenHash: string) => {
      if (channel === signals.channel) signals.#listeners.wake(tokenHash);
    });
    await subscriber.connect();
    await subscriber.subscribe(signals.channel);
    // ioredis subscribes again after a reconnect; whatever was published meanwhile is lost, so
    // every watcher reads its token again.
    subscriber.on("ready", () => signals.#listeners.wakeAll());
    return signals;
  }

  async notify(tokenHash: string): Promise<void> {
    await this.publisher.publish(this.channel, tokenHash);
  }

  listen(tokenHash: string, listener: () => void): () => void {
    return this.#listeners.add(tokenHash, listener);
  }

  async close(): Promise<void> {
    this.subscriber.disconnect();
  }
}
