import { Cluster, Redis, type ClusterNode, type RedisOptions } from "ioredis";
import { logConnectionStates, type ConnectionStates } from "../../observability/connectionStates.js";
import type { Logger } from "../../observability/logger.js";

/**
 * One Redis or a Redis Cluster: the stores run the same scripts on either, since every script's
 * keys share one hash tag (one slot), which is all Cluster asks.
 */
export type RedisClient = Redis | Cluster;

export interface RedisConnection {
  /** One Redis, or with `cluster` the nodes the Cluster client discovers the rest from. */
  readonly urls: readonly string[];
  readonly cluster: boolean;
  /**
   * The longest one command waits for its reply (REDIS_TIMEOUT_MS). The commands of one piece of
   * work together get no longer either (workDeadline.ts). Default 2000.
   */
  readonly timeoutMs?: number;
}

// Shared by a single client and by every node connection of a Cluster client.
function connectionOptions(timeoutMs: number): RedisOptions {
  return {
    connectTimeout: 5_000,
    commandTimeout: timeoutMs,
    // Fail fast while disconnected instead of queueing: a caller waiting on a code check would
    // rather get `unavailable` now than a late answer.
    maxRetriesPerRequest: 1,
  };
}

/**
 * Connects and checks the connection; a Redis that cannot be reached at start is a failed start.
 * Later, each node's connection is logged when it is lost and when it is back (once each, see
 * connectionStates.ts; ioredis reconnects by itself), and failed commands reach callers, which
 * answer `unavailable`.
 */
export async function connectRedis(connection: RedisConnection, logger: Logger): Promise<RedisClient> {
  const timeoutMs = connection.timeoutMs ?? 2_000;
  const client = connection.cluster ? clusterClient(connection.urls, timeoutMs) : singleClient(connection.urls[0]!, timeoutMs);
  watchConnections(client, logConnectionStates(logger, "redis"), logger);
  try {
    await client.connect();
    await client.ping();
  } catch (error) {
    client.disconnect();
    const what = connection.cluster ? "Redis Cluster at" : "Redis at";
    throw new Error(`${what} ${connection.urls.map(redactedUrl).join(", ")} is not reachable`, { cause: error });
  }
  return client;
}

function singleClient(url: string, timeoutMs: number): Redis {
  return new Redis(url, {
    ...connectionOptions(timeoutMs),
    lazyConnect: true,
    enableOfflineQueue: false,
    // Commands issued in the same tick (concurrent calls) go out in one socket write and are read
    // by Redis in one go: under the round-trip bench Redis spent ~40 % less CPU per round. Each
    // call still makes exactly one round trip.
    enableAutoPipelining: true,
  });
}

function clusterClient(urls: readonly string[], timeoutMs: number): Cluster {
  const nodes = clusterNodes(urls);
  // Credentials and TLS are the cluster's, not a node's: taken from the first URL for all of them.
  const first = new URL(urls[0]!);
  return new Cluster(nodes, {
    lazyConnect: true,
    enableOfflineQueue: false,
    // Not on Cluster: ioredis picks an auto-pipeline's node from the first argument, which for a
    // script is its key count, not its key; scripts of different slots then share a pipeline and
    // fail ("All keys in the pipeline should belong to the same slots allocation group",
    // redis/ioredis#2109).
    enableAutoPipelining: false,
    // Writes and reads of one secret go to its primary: a replica may not have the latest attempt.
    scaleReads: "master",
    // A failover moves slots: re-read the map soon after a node is lost rather than on a schedule.
    slotsRefreshTimeout: 2_000,
    retryDelayOnFailover: 200,
    clusterRetryStrategy: (attempts) => Math.min(attempts * 200, 2_000),
    redisOptions: {
      ...connectionOptions(timeoutMs),
      ...(first.username === "" ? {} : { username: decodeURIComponent(first.username) }),
      ...(first.password === "" ? {} : { password: decodeURIComponent(first.password) }),
      ...(first.protocol === "rediss:" ? { tls: {} } : {}),
    },
  });
}

/**
 * Tells `states` of each node's connection: lost on a connection error (a refused or reset
 * connection, a connect timeout; on Cluster also a node that could not give the slot map), back
 * once a connection to it is ready again. A Cluster client makes a new connection to a node each
 * time it sends it something after losing it, and each failure is an error event: hence states
 * that log only changes. The Cluster's own errors (no node answered the slot map) name no node;
 * the nodes' lines already said which are gone.
 */
function watchConnections(client: RedisClient, states: ConnectionStates, logger: Logger): void {
  if (client instanceof Cluster) {
    client.on("+node", (node: Redis) => node.on("ready", () => states.back(nodeAddress(node))));
    client.on("node error", (error: Error, address: string) => states.lost(address, error));
    client.on("error", (error: Error) => logger.debug({ err: error }, "redis cluster error"));
    return;
  }
  client.on("ready", () => states.back(nodeAddress(client)));
  client.on("error", (error: Error) => states.lost(nodeAddress(client), error));
}

/** host:port, as ioredis's Cluster client names its nodes. */
function nodeAddress(node: Redis): string {
  return `${node.options.host ?? "localhost"}:${node.options.port ?? 6379}`;
}

/** The host and port of each node URL, as ioredis's Cluster client takes its startup nodes. */
export function clusterNodes(urls: readonly string[]): ClusterNode[] {
  return urls.map((url) => {
    const parsed = new URL(url);
    return { host: parsed.hostname, port: parsed.port === "" ? 6379 : Number(parsed.port) };
  });
}

/** The keyPrefix ioredis itself would add: the stores prefix their keys themselves, so none. */
export function assertNoClientKeyPrefix(client: RedisClient, store: string): void {
  if (client.options.keyPrefix) {
    throw new Error(`${store}: use the keyPrefix option of the store, not of the ioredis client`);
  }
}

function redactedUrl(raw: string): string {
  const url = new URL(raw);
  if (url.password !== "") url.password = "***";
  return url.toString();
}

/**
 * The longest one command of the client waits (REDIS_TIMEOUT_MS, as connectRedis sets it): also
 * what the commands of one piece of work get together (workDeadline.ts). Undefined for a client
 * made without one, whose commands wait as long as Redis takes.
 */
export function commandTimeoutOf(client: RedisClient): number | undefined {
  return client instanceof Cluster ? client.options.redisOptions?.commandTimeout : client.options.commandTimeout;
}

/** Commands sent on the client's connections (every node's, on Cluster) that await their reply. */
export function pendingCommands(client: RedisClient): number {
  const connections = client instanceof Cluster ? client.nodes() : [client];
  return connections.reduce((sum, connection) => sum + connection.commandQueue.length, 0);
}
