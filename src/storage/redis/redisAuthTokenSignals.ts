import { Cluster, type Redis } from "ioredis";
import type { RedisClient } from "./redisClient.js";
import { isAuthTokenChange, type AuthTokenChange, type AuthTokenSignals } from "../../domain/accountTokens/authTokenSignals.js";
import type { Logger } from "../../observability/logger.js";
import { observed, unobserved, type StoreCalls } from "../../observability/storeCalls.js";
import { TokenListeners } from "../memory/memoryAuthTokenSignals.js";
import { ClusterSubscriber } from "./clusterSubscriber.js";

const publishOperation = { system: "redis", name: "PUBLISH", summary: "PUBLISH auth-token-changed" } as const;

/**
 * Auth token signals over Redis pub/sub: one channel for the deployment, `<change> <token hash>`
 * as the message. Each instance subscribes once at start on a connection of its own (a subscribed
 * connection can do nothing else) and dispatches to its watchers, so a watch costs no Redis
 * command at all and an attach (or revoke) one PUBLISH. Attaches are rare next to everything else, so
 * every instance hearing every one is cheaper than a subscription per watcher. Classic pub/sub
 * reaches every node of a Redis Cluster, so there one node's connection serves (clusterSubscriber.ts).
 */
export class RedisAuthTokenSignals implements AuthTokenSignals {
  readonly #listeners = new TokenListeners();

  private constructor(
    private readonly publisher: RedisClient,
    private readonly subscriber: { disconnect(): void },
    private readonly channel: string,
    private readonly calls: StoreCalls,
  ) {}

  static async open(options: { readonly redis: RedisClient; readonly keyPrefix: string; readonly logger: Logger; readonly calls?: StoreCalls }): Promise<RedisAuthTokenSignals> {
    const channel = `${options.keyPrefix}auth-token-changed`;
    // A connection of its own: one that subscribes can do nothing else.
    const subscriber = options.redis instanceof Cluster ? new ClusterSubscriber(options.redis, channel) : options.redis.duplicate({ lazyConnect: true, enableOfflineQueue: true });
    const signals = new RedisAuthTokenSignals(options.redis, subscriber, channel, options.calls ?? unobserved);
    subscriber.on("message", (heardOn: string, message: string) => {
      const [change, tokenHash] = message.split(" ");
      // A change this version does not know (a newer instance's) is dropped: its watchers end at expiry as before.
      if (heardOn === channel && isAuthTokenChange(change) && tokenHash !== undefined) signals.#listeners.wake(tokenHash, change);
    });
    // Whatever was published while the subscription was away is lost, so every watcher reads its token again.
    const wakeAll = () => signals.#listeners.wakeAll();
    if (subscriber instanceof ClusterSubscriber) {
      await subscriber.subscribe();
      subscriber.on("resubscribed", wakeAll);
    } else {
      // Its node is the main client's, which logs when it is lost and back (redisClient.ts).
      subscriber.on("error", (error: Error) => options.logger.debug({ err: error }, "redis subscriber connection error"));
      await subscriber.connect();
      await subscriber.subscribe(channel);
      // ioredis subscribes again after a reconnect, then says ready.
      subscriber.on("ready", wakeAll);
    }
    return signals;
  }

  async notify(tokenHash: string, change: AuthTokenChange): Promise<void> {
    await observed(this.calls, publishOperation, () => this.#publishingNode().publish(this.channel, `${change} ${tokenHash}`));
  }

  /**
   * On a Cluster, the same primary for every PUBLISH while the slot map stands: the Cluster client
   * sends a command with no key to any node, and two messages published through different nodes
   * reach a subscriber on a third over two bus links, in either order (an attach heard after the
   * revoke that followed it; seen in the contract test). One node forwards in the order it got them.
   */
  #publishingNode(): Redis | Cluster {
    if (!(this.publisher instanceof Cluster)) return this.publisher;
    return this.publisher.nodes("master")[0] ?? this.publisher;
  }

  listen(tokenHash: string, listener: (change: AuthTokenChange | undefined) => void): () => void {
    return this.#listeners.add(tokenHash, listener);
  }

  async close(): Promise<void> {
    this.subscriber.disconnect();
  }
}
