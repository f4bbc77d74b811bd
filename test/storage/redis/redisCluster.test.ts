import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RedisPendingSecrets } from "../../../src/storage/redis/redisPendingSecrets.js";
import { RedisSecretQueue } from "../../../src/storage/redis/redisSecretQueue.js";
import { RedisSendLimits } from "../../../src/storage/redis/redisSendLimits.js";
import { shardKeys } from "../../../src/storage/redis/secretKeyspace.js";
import { message } from "../pendingSecrets.contract.js";
import { startPrivateRedis, type PrivateRedis } from "../../support/privateRedis.js";

/**
 * Every script against a one-node Redis Cluster holding all 16384 slots: Cluster refuses a call
 * whose keys are in different slots (CROSSSLOT), which a plain Redis accepts. So any key that
 * lost its shard's or scope's hash tag fails here.
 */
describe("the Redis scripts on Redis Cluster", () => {
  let redis: PrivateRedis;
  let client: Redis;
  let directory: string;

  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), "onetime-cluster-"));
    redis = await startPrivateRedis(["--cluster-enabled", "yes", "--cluster-config-file", join(directory, "nodes.conf"), "--dir", directory]);
    client = new Redis(redis.url, { maxRetriesPerRequest: 1 });
    await client.call("CLUSTER", "ADDSLOTSRANGE", "0", "16383");
    // The node declares the cluster up within a second or so of holding every slot.
    for (let tries = 0; tries < 200 && !String(await client.call("CLUSTER", "INFO")).includes("cluster_state:ok"); tries++) await sleep(50);
  }, 20_000);

  afterAll(async () => {
    client?.disconnect();
    await redis?.stop();
    if (directory !== undefined) await rm(directory, { recursive: true, force: true });
  });

  it("refuses keys of two slots in one call, so the checks below mean something", async () => {
    await expect(client.mset("a", "1", "b", "2")).rejects.toThrow(/CROSSSLOT/);
    await expect(client.eval("return redis.call('GET', KEYS[2])", 2, "a", "b")).rejects.toThrow(/CROSSSLOT/);
  });

  it("runs put, take, peek and revoke, and every queue script, in one slot per call", async () => {
    const keyPrefix = "cluster:";
    const secrets = new RedisPendingSecrets({ redis: client, keyPrefix, ownsClient: false });
    const queue = new RedisSecretQueue({ redis: client, keyPrefix, tidyIntervalMs: 0, forgetConsumersAfterMs: 0 });
    const secret = { hash: "h", maxAttempts: 3, data: "{}" };
    // Enough keys to land in every shard.
    for (let i = 0; i < 64; i++) await secrets.put(`v:${i}`, secret, 60_000, { message: message(`m${i}`) });
    expect((await secrets.take("v:0", "wrong")).status).toBe("mismatch");
    expect(await secrets.peek("v:0")).not.toBeNull();
    expect(await secrets.revoke("v:1")).toBe(true);
    expect((await secrets.take("v:2", "h")).status).toBe("consumed");

    // A script could still touch a key it is not given (one named in a value), which one node
    // holding every slot would not refuse: the entries name none, so the claim has none to read.
    for (let shard = 0; shard < 16; shard++) {
      for (const [, fields] of await client.xrange(shardKeys(keyPrefix, shard).stream, "-", "+")) {
        expect(fields.filter((_, i) => i % 2 === 0)).toEqual(["id", "kind", "template", "reference", "payload", "max", "attempt", "expires"]);
      }
    }
    const claimed = await queue.claim(100, 60_000);
    expect(claimed).toHaveLength(62);
    const recorded = await queue.record(
      claimed.map((each, i) => ({ message: each, outcome: i % 2 === 0 ? { status: "sent" as const } : { status: "retry" as const, reason: "451", delayMs: 0 } })),
    );
    expect(recorded.recorded.size).toBe(62);
    // Retries move back from each shard's retry set into its stream.
    expect(await queue.claim(100, 0)).toHaveLength(31);
    // And a crashed relay's claims are taken over (XAUTOCLAIM), each in its own shard's slot.
    const other = new RedisSecretQueue({ redis: client, keyPrefix });
    expect(await other.claim(100, 0)).toHaveLength(31);
    await queue.tidy();
  });

  it("runs the send limits' scripts in one slot per call", async () => {
    const limits = new RedisSendLimits({ redis: client, keyPrefix: "cluster:", ownsClient: false });
    const request = {
      scope: "c0ffee",
      bucket: "email",
      idempotency: { key: "k1", fingerprint: "fp", ttlMs: 30_000 },
      sends: { limit: 3, windowMs: 60_000, firstResendDelayMs: 0, maxResendDelayMs: 0 },
      guesses: { limit: 10, windowMs: 60_000, reserve: 3 },
    };
    expect((await limits.admit(request)).status).toBe("admitted");
    await limits.completeIdempotency("c0ffee", "k1", "fp", "answer", 30_000);
    await limits.releaseIdempotency("c0ffee", "k1", "fp");
    await limits.refund("c0ffee", "email", { guesses: 2, sendNumber: 1 });
    expect(await limits.admit(request)).toEqual({ status: "replay", answer: "answer" });
  });
});
