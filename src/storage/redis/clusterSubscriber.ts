import { EventEmitter, once } from "node:events";
import { Redis, type Cluster } from "ioredis";

/** Waits between attempts while no node takes the subscription: 100 ms, growing to 2 s. */
const retryDelayMs = (attempt: number) => Math.min(100 * 2 ** attempt, 2_000);

/**
 * A pub/sub subscription on a Redis Cluster that says when it is subscribed again after losing its
 * node. ioredis's own Cluster subscriber moves to another node and subscribes again without any
 * event, so nobody can tell that messages published in between were missed. Classic pub/sub
 * reaches every node of a Cluster, so any node serves: this holds a plain connection to one and,
 * on losing it, connects to the next node the Cluster knows.
 *
 * Events: `message` (channel, message) as ioredis's; `resubscribed` once a new connection is
 * subscribed after a lost one.
 */
export class ClusterSubscriber extends EventEmitter {
  #connection: Redis | undefined;
  #closed = false;
  #node = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly cluster: Cluster,
    private readonly channel: string,
  ) {
    super();
  }

  /** Subscribes on one node; fails when that node does not take it, as a start should. */
  async subscribe(): Promise<void> {
    // The nodes come from the Cluster's slot map: wait for the client to have one.
    if (this.cluster.status !== "ready") await once(this.cluster, "ready");
    await this.#subscribeOnNextNode();
  }

  disconnect(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#connection?.disconnect();
  }

  async #subscribeOnNextNode(): Promise<void> {
    const nodes = this.cluster.nodes("all");
    if (nodes.length === 0) throw new Error("the Redis Cluster client knows no node to subscribe on");
    const { host, port } = nodes[this.#node++ % nodes.length]!.options;
    const connection = new Redis({
      ...this.cluster.options.redisOptions,
      host,
      port,
      lazyConnect: true,
      // A lost node may stay lost: the next attempt goes to another node, not to this one again.
      retryStrategy: () => null,
    });
    this.#connection = connection;
    // Its node's errors are the Cluster client's to log (redisClient.ts); a lost connection ends here.
    connection.on("error", () => {});
    connection.on("message", (channel: string, message: string) => this.emit("message", channel, message));
    try {
      await connection.connect();
      await connection.subscribe(this.channel);
    } catch (error) {
      connection.disconnect();
      throw error;
    }
    connection.once("end", () => this.#resubscribe(0));
  }

  #resubscribe(attempt: number): void {
    if (this.#closed) return;
    this.#timer = setTimeout(() => {
      this.#subscribeOnNextNode().then(
        () => this.emit("resubscribed"),
        () => this.#resubscribe(attempt + 1),
      );
    }, retryDelayMs(attempt));
    this.#timer.unref();
  }
}
