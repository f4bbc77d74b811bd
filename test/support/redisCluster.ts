import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { Cluster, Redis } from "ioredis";
import { freePort, startPrivateRedis, type PrivateRedis } from "./privateRedis.js";

const run = promisify(execFile);

/** A Redis Cluster of the tests' own on loopback: its nodes' URLs, and a way to lose a primary. */
export interface TestRedisCluster {
  /** Every node, primaries first: what REDIS_URL lists with REDIS_CLUSTER=true. */
  readonly urls: readonly string[];
  /**
   * Stops (SHUTDOWN NOSAVE) the primary serving `key`'s slot; its replica, if any, takes over.
   * Answers that node: its address as the cluster names it, and a way to start it again (empty,
   * with the same cluster identity and slots, as a crashed node restarted by its supervisor).
   */
  killPrimaryOf(key: string): Promise<StoppedNode>;
  /** Resolves once every slot is served again and the cluster says so. */
  waitUntilHealthy(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export interface StoppedNode {
  /** `127.0.0.1:port`, as the cluster and ioredis name the node. */
  readonly address: string;
  restart(): Promise<void>;
}

export interface ClusterShape {
  readonly primaries: number;
  readonly replicasPerPrimary: number;
  /** How long a primary may be unreachable before its replica is promoted. */
  readonly nodeTimeoutMs: number;
}

/**
 * `redis-server --cluster-enabled yes` × N and `redis-cli --cluster create`, as an operator would.
 * Ports are picked below 55536: Redis Cluster's bus listens on port + 10000.
 */
export async function startRedisCluster(shape: ClusterShape = { primaries: 3, replicasPerPrimary: 0, nodeTimeoutMs: 2_000 }): Promise<TestRedisCluster> {
  const directory = await mkdtemp(join(tmpdir(), "onetime-cluster-"));
  const count = shape.primaries * (1 + shape.replicasPerPrimary);
  const nodes: PrivateRedis[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const port = await clusterPort();
      nodes.push(
        await startPrivateRedis(
          ["--cluster-enabled", "yes", "--cluster-config-file", join(directory, `nodes-${port}.conf`), "--dir", directory, "--cluster-node-timeout", String(shape.nodeTimeoutMs)],
          port,
        ),
      );
    }
    const addresses = nodes.map((node) => `127.0.0.1:${node.port}`);
    await run("redis-cli", ["--cluster", "create", ...addresses, "--cluster-replicas", String(shape.replicasPerPrimary), "--cluster-yes"], { timeout: 30_000 });
  } catch (error) {
    await Promise.all(nodes.map((node) => node.stop()));
    await rm(directory, { recursive: true, force: true });
    throw new Error(`could not start a Redis Cluster on loopback (redis-server and redis-cli must be installed): ${String(error)}`, { cause: error });
  }
  const cluster: TestRedisCluster = {
    urls: nodes.map((node) => node.url),
    async killPrimaryOf(key) {
      const client = new Cluster(nodes.map((node) => ({ host: "127.0.0.1", port: node.port })), { lazyConnect: true });
      try {
        await client.connect();
        const slot = Number(await client.call("CLUSTER", "KEYSLOT", key));
        const owner = ((await client.call("CLUSTER", "SLOTS")) as [number, number, [string, number]][]).find(([from, to]) => slot >= from && slot <= to);
        const primary = nodes.find((node) => node.port === owner?.[2][1]);
        if (primary === undefined) throw new Error(`no primary serves slot ${slot}`);
        await primary.stop();
        return { address: `127.0.0.1:${primary.port}`, restart: () => primary.restart() };
      } finally {
        client.disconnect();
      }
    },
    async waitUntilHealthy(timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const states = await Promise.all(nodes.map((node) => clusterState(node.port)));
        if (states.includes("ok") && states.every((state) => state === "ok" || state === "down-node")) return;
        if (Date.now() > deadline) throw new Error(`Redis Cluster not healthy after ${timeoutMs} ms: ${states.join(", ")}`);
        await sleep(100);
      }
    },
    async stop() {
      await Promise.all(nodes.map((node) => node.stop()));
      await rm(directory, { recursive: true, force: true });
    },
  };
  await cluster.waitUntilHealthy();
  return cluster;
}

/** A node's own view: "ok", "fail", or "down-node" for a node that is not running. */
async function clusterState(port: number): Promise<string> {
  const client = new Redis({ port, host: "127.0.0.1", lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
  client.on("error", () => {});
  try {
    await client.connect();
    const info = String(await client.call("CLUSTER", "INFO"));
    return /cluster_state:(\w+)/.exec(info)?.[1] ?? "unknown";
  } catch {
    return "down-node";
  } finally {
    client.disconnect();
  }
}

async function clusterPort(): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 30_000);
    try {
      await freePort(port);
      await freePort(port + 10_000);
      return port;
    } catch {
      // Taken: try another.
    }
  }
}
