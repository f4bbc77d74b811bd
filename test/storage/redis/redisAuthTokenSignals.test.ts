import { randomBytes } from "node:crypto";
import { Cluster, Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { AuthTokenChange } from "../../../src/domain/accountTokens/authTokenSignals.js";
import { createLogger } from "../../../src/observability/logger.js";
import { RedisAuthTokenSignals } from "../../../src/storage/redis/redisAuthTokenSignals.js";
import type { RedisClient } from "../../../src/storage/redis/redisClient.js";
import { clusterNodes } from "../../../src/storage/redis/redisClient.js";
import { connectTestCluster, connectTestRedis, escapeGlob, scanKeys, testClusterUrls, testRedisUrl, uniqueTestPrefix } from "../../support/redis.js";
import { describeAuthTokenSignalsContract, type AuthTokenSignalsFixture } from "../authTokenSignals.contract.js";

const logger = createLogger("silent");
const token = () => randomBytes(16).toString("base64url");

/** Signals under `keyPrefix` over clients `connect` opens; each peer is another instance with its own connections. */
async function signalsFixture(keyPrefix: string, connect: () => Promise<RedisClient>): Promise<AuthTokenSignalsFixture> {
  const opened: Array<{ client: RedisClient; signals: RedisAuthTokenSignals }> = [];
  const open = async () => {
    const client = await connect();
    const signals = await RedisAuthTokenSignals.open({ redis: client, keyPrefix, logger });
    opened.push({ client, signals });
    return signals;
  };
  return {
    signals: await open(),
    peer: open,
    close: async () => {
      for (const { client, signals } of opened) {
        await signals.close();
        client.disconnect();
      }
    },
  };
}

describeAuthTokenSignalsContract("RedisAuthTokenSignals", () => signalsFixture(uniqueTestPrefix("auth-signals"), connectTestRedis));

describeAuthTokenSignalsContract("RedisAuthTokenSignals on Redis Cluster", () => signalsFixture(uniqueTestPrefix("auth-signals-cluster"), connectTestCluster));

/** What only the Redis implementation has: a channel per deployment, messages on the wire, a subscriber connection that can drop. */
describe.each([
  ["one Redis", connectTestRedis],
  ["Redis Cluster", connectTestCluster],
] as const)("RedisAuthTokenSignals on %s", (name, connect) => {
  let admin: RedisClient;
  beforeAll(async () => {
    admin = await connect();
  });
  afterAll(() => {
    admin?.disconnect();
  });

  /** Waits until `signals` heard a marker notified through itself: whatever was published before has arrived. */
  async function settle(signals: RedisAuthTokenSignals): Promise<void> {
    const hash = token();
    const heard: Array<AuthTokenChange | undefined> = [];
    const stop = signals.listen(hash, (change) => heard.push(change));
    try {
      await signals.notify(hash, "revoked");
      await vi.waitFor(() => expect(heard).toEqual(["revoked"]), { timeout: 5_000, interval: 5 });
    } finally {
      stop();
    }
  }

  it("keeps deployments under other key prefixes apart, and stores no key", async () => {
    const keyPrefix = uniqueTestPrefix("auth-signals-apart");
    const fixture = await signalsFixture(keyPrefix, connect);
    const neighbour = await signalsFixture(uniqueTestPrefix("auth-signals-apart"), connect);
    try {
      const hash = token();
      const heard: Array<AuthTokenChange | undefined> = [];
      fixture.signals.listen(hash, (change) => heard.push(change));
      await neighbour.signals.notify(hash, "attached");
      await settle(fixture.signals as RedisAuthTokenSignals);
      // The neighbour's PUBLISH went out before the marker's, from another connection: the server
      // received it first, and delivers to each subscriber in the order it received them.
      expect(heard).toEqual([]);
      expect(await scanKeys(admin, `${escapeGlob(keyPrefix)}*`)).toEqual([]);
    } finally {
      await fixture.close();
      await neighbour.close();
    }
  });

  it("drops a message it cannot read (a newer instance's change, a stray publish) and keeps listening", async () => {
    const keyPrefix = uniqueTestPrefix("auth-signals-stray");
    const fixture = await signalsFixture(keyPrefix, connect);
    try {
      const hash = token();
      const heard: Array<AuthTokenChange | undefined> = [];
      fixture.signals.listen(hash, (change) => heard.push(change));
      for (const message of [`renamed ${hash}`, "attached", hash, ""]) await admin.publish(`${keyPrefix}auth-token-changed`, message);
      await settle(fixture.signals as RedisAuthTokenSignals);
      expect(heard).toEqual([]);
      await fixture.signals.notify(hash, "attached");
      await vi.waitFor(() => expect(heard).toEqual(["attached"]), { timeout: 5_000, interval: 5 });
    } finally {
      await fixture.close();
    }
  });

  it("tells every listener something may have changed (undefined) when its subscriber connection comes back, and hears signals again", async () => {
    // A client that reconnects (the test clients do not), named so the subscriber can be found and cut.
    const connectionName = `auth-signals-${randomBytes(6).toString("hex")}`;
    const client: RedisClient =
      admin instanceof Cluster
        ? new Cluster(clusterNodes(testClusterUrls()), { redisOptions: { connectionName } })
        : new Redis(testRedisUrl(), { connectionName });
    client.on("error", () => {});
    const signals = await RedisAuthTokenSignals.open({ redis: client, keyPrefix: uniqueTestPrefix("auth-signals-reconnect"), logger });
    try {
      const [first, second] = [token(), token()];
      const heard = { first: [] as Array<AuthTokenChange | undefined>, second: [] as Array<AuthTokenChange | undefined> };
      signals.listen(first, (change) => heard.first.push(change));
      signals.listen(second, (change) => heard.second.push(change));

      expect(await killSubscriber(admin, connectionName)).toBe(1);
      await vi.waitFor(() => expect(heard).toEqual({ first: [undefined], second: [undefined] }), { timeout: 5_000, interval: 10 });
      // Subscribed again: a signal reaches its listener as before.
      await vi.waitFor(
        async () => {
          await signals.notify(first, "attached");
          expect(heard.first).toContain("attached");
        },
        { timeout: 10_000, interval: 50 },
      );
    } finally {
      await signals.close();
      client.disconnect();
    }
  });
});

/** Kills the subscribed connection named `name` on whichever node holds it; returns how many it killed. */
async function killSubscriber(admin: RedisClient, name: string): Promise<number> {
  const nodes = admin instanceof Cluster ? admin.nodes("all") : [admin];
  let killed = 0;
  for (const node of nodes) {
    const list = String(await node.call("CLIENT", "LIST"));
    for (const line of list.split("\n")) {
      const fields = Object.fromEntries(line.split(" ").map((field) => field.split("=", 2) as [string, string]));
      // Cluster names its subscriber connection "ioredis-cluster(subscriber):<name>"-like: the name is in it.
      if (fields.name?.includes(name) === true && Number(fields.sub) > 0) {
        await node.call("CLIENT", "KILL", "ID", fields.id!);
        killed++;
      }
    }
  }
  return killed;
}
