import { randomBytes, randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { DeliveryOutcome } from "../../src/channels/channel.js";
import type { EmailMessage } from "../../src/domain/messages/outboundMessage.js";
import { channelRegistry } from "../../src/channels/channelRegistry.js";
import { createSecretBox } from "../../src/crypto/secretBox.js";
import type { MessageQueue } from "../../src/delivery/messageQueue.js";
import { OutboxRelay, payloadContext, type OutboxRelayOptions } from "../../src/delivery/outboxRelay.js";
import type { QueuedMessage } from "../../src/domain/messages/messageDelivery.js";
import { Sender } from "../../src/delivery/sender.js";
import type { PendingSecrets } from "../../src/domain/secrets/pendingSecrets.js";
import { createMetrics } from "../../src/observability/metrics.js";
import { MemoryPendingSecrets } from "../../src/storage/memory/memoryPendingSecrets.js";
import { RedisPendingSecrets } from "../../src/storage/redis/redisPendingSecrets.js";
import { RedisSecretQueue } from "../../src/storage/redis/redisSecretQueue.js";
import { defaultSecretShardCount, secretShard } from "../../src/storage/secretShards.js";
import { capturingLogger } from "../support/capturingLogger.js";
import { startPrivateRedis, type PrivateRedis } from "../support/privateRedis.js";
import { RecordingChannel } from "../support/recordingChannel.js";
import { connectTestRedis, deleteKeysWithPrefix, uniqueTestPrefix } from "../support/redis.js";

/** A backend's pending secrets and queue, as one or more instances of the service hold them. */
interface SecretBackend {
  readonly secrets: PendingSecrets;
  /** Another relay's view of the queue (its own consumer, where the backend has consumers). */
  queue(): Promise<MessageQueue>;
  /** Wired to the store's onQueued. */
  onQueued: (shard: number) => void;
  /** Lets the backend's clock move on: instantly in memory, really on Redis. */
  elapse(ms: number): Promise<void>;
  close(): Promise<void>;
}

const filePrefix = uniqueTestPrefix("secret-relay");
let fixtureNumber = 0;

const backends: Record<string, () => Promise<SecretBackend>> = {
  redis: async () => {
    const keyPrefix = `${filePrefix}${fixtureNumber++}:`;
    const clients: Redis[] = [];
    const connect = async () => {
      const redis = await connectTestRedis();
      clients.push(redis);
      return redis;
    };
    const backend: SecretBackend = {
      secrets: new RedisPendingSecrets({ redis: await connect(), keyPrefix, ownsClient: false, onQueued: (shard) => backend.onQueued(shard) }),
      queue: async () => new RedisSecretQueue({ redis: await connect(), keyPrefix }),
      onQueued: () => undefined,
      elapse: (ms) => sleep(ms),
      close: async () => {
        await Promise.all(clients.map((redis) => redis.quit()));
      },
    };
    return backend;
  },
  memory: async () => {
    let offset = 0;
    const memory = new MemoryPendingSecrets({ now: () => Date.now() + offset, sweepIntervalMs: 0, onQueued: (shard) => backend.onQueued(shard) });
    const backend: SecretBackend = {
      secrets: memory,
      queue: async () => memory.messages,
      onQueued: () => undefined,
      elapse: async (ms) => {
        offset += ms;
      },
      close: () => memory.close(),
    };
    return backend;
  },
};

const box = createSecretBox([{ id: "k1", key: randomBytes(32) }]);
const fastRetry: OutboxRelayOptions = { retry: { baseDelayMs: 1, maxDelayMs: 5 }, pollIntervalMs: 20, sendTimeoutMs: 2_000 };

function email(code: string): EmailMessage {
  return { kind: "email", to: "ada@example.com", subject: "Your code", text: `code ${code}`, html: `<p>code ${code}</p>` };
}

/** As Delivery.seal does: the payload opens only for its own id. */
function sealed(code: string, maxAttempts = 3): QueuedMessage {
  const id = randomUUID();
  return { id, kind: "email", template: "verification", reference: `v-${code}`, sealedPayload: box.seal(JSON.stringify(email(code)), payloadContext(id)), maxAttempts };
}

/** A channel that also counts what it was asked, answered or not. */
class CountingChannel extends RecordingChannel<"email"> {
  asked = 0;
  override send(message: EmailMessage, signal: AbortSignal): Promise<DeliveryOutcome> {
    this.asked += 1;
    return super.send(message, signal);
  }
}

const secret = { hash: "h", maxAttempts: 3, data: "{}" };
const texts = (channel: RecordingChannel<"email">) => channel.sent.map((message) => message.text).sort();

afterAll(async () => {
  const admin = await connectTestRedis();
  await deleteKeysWithPrefix(admin, filePrefix);
  await admin.quit();
});

describe.each(Object.keys(backends))("the relay over the secrets' queue on %s", (name) => {
  let backend: SecretBackend;
  const { logger } = capturingLogger();

  function relayWith(channel: RecordingChannel<"email">, queue: MessageQueue, options: Partial<OutboxRelayOptions> = {}): OutboxRelay {
    const sender = new Sender(channelRegistry({ email: channel }), logger, createMetrics());
    return new OutboxRelay(queue, box, sender, logger, { ...fastRetry, ...options });
  }

  beforeEach(async () => {
    backend = await backends[name]!();
  });
  afterEach(async () => {
    await backend.secrets.close();
    await backend.close();
  });

  it("sends the message put with a code, once", async () => {
    const channel = new RecordingChannel("email");
    const relay = relayWith(channel, await backend.queue());
    await backend.secrets.put("v:1", secret, 60_000, { message: sealed("482913") });
    expect(await relay.runOnce()).toBe(1);
    expect(await relay.runOnce()).toBe(0);
    expect(texts(channel)).toEqual(["code 482913"]);
  });

  it("says nothing of a takeover when a code is used while its message is being sent", async () => {
    const { logger: watched, records } = capturingLogger();
    // The person types the code while the provider is still accepting its message.
    const channel = new (class extends RecordingChannel<"email"> {
      override async send(message: EmailMessage, signal: AbortSignal): Promise<DeliveryOutcome> {
        expect((await backend.secrets.take("v:used", "h")).status).toBe("consumed");
        return super.send(message, signal);
      }
    })("email");
    const relay = new OutboxRelay(await backend.queue(), box, new Sender(channelRegistry({ email: channel }), watched, createMetrics()), watched, fastRetry);
    await backend.secrets.put("v:used", secret, 60_000, { message: sealed("515151") });
    expect(await relay.runOnce()).toBe(1);
    expect(texts(channel)).toEqual(["code 515151"]);
    expect(records.filter((record) => String(record.msg).includes("taken over"))).toEqual([]);
  });

  it("never sends the message of a code taken, revoked, replaced or expired", async () => {
    const channel = new RecordingChannel("email");
    const relay = relayWith(channel, await backend.queue());
    const { secrets } = backend;
    await secrets.put("taken", secret, 60_000, { message: sealed("111111") });
    await secrets.put("revoked", secret, 60_000, { message: sealed("222222") });
    await secrets.put("replaced", secret, 60_000, { message: sealed("333333") });
    await secrets.put("replaced", secret, 60_000, { message: sealed("333334") });
    await secrets.put("expired", secret, 100, { message: sealed("444444") });
    await secrets.put("kept", secret, 60_000, { message: sealed("555555") });
    await secrets.take("taken", "h");
    await secrets.revoke("revoked");
    await backend.elapse(200);
    while ((await relay.runOnce()) > 0);
    expect(texts(channel)).toEqual(["code 333334", "code 555555"]);
  });

  it("retries a failed send with backoff until it goes out", async () => {
    const channel = new CountingChannel("email").answer({ status: "failed", reason: "451 try later" }, { status: "failed", reason: "451 again" });
    const relay = relayWith(channel, await backend.queue());
    await backend.secrets.put("v:1", secret, 60_000, { message: sealed("606060") });
    for (let round = 0; round < 20 && channel.sent.length === 0; round++) {
      await relay.runOnce();
      await backend.elapse(10);
    }
    expect(texts(channel)).toEqual(["code 606060"]);
    expect(channel.asked).toBe(3);
  });

  it("gives up after the message's attempts, and sends it no more", async () => {
    const channel = new CountingChannel("email", { status: "failed", reason: "503 unavailable" });
    const relay = relayWith(channel, await backend.queue());
    await backend.secrets.put("v:1", secret, 60_000, { message: sealed("707070", 3) });
    for (let round = 0; round < 10; round++) {
      await relay.runOnce();
      await backend.elapse(10);
    }
    expect(channel.asked).toBe(3);
    expect(channel.sent).toEqual([]);
  });

  it("does not retry a permanent rejection", async () => {
    const channel = new CountingChannel("email").answer({ status: "rejected", reason: "550 no such mailbox" });
    const relay = relayWith(channel, await backend.queue());
    await backend.secrets.put("v:1", secret, 60_000, { message: sealed("808080") });
    for (let round = 0; round < 3; round++) {
      await relay.runOnce();
      await backend.elapse(10);
    }
    expect(channel.asked).toBe(1);
  });

  it("hands a crashed relay's unfinished batch to another after the lease, delivering each message once", async () => {
    // Relay A accepts three messages, then hangs on the rest as if its process had frozen.
    const crashing = new RecordingChannel("email").answer({ status: "accepted" }, { status: "accepted" }, { status: "accepted" });
    for (let i = 0; i < 7; i++) crashing.answer("hang");
    const a = relayWith(crashing, await backend.queue(), { leaseMs: 150, sendTimeoutMs: 1_000 });
    for (let i = 0; i < 10; i++) await backend.secrets.put(`v:${i}`, secret, 60_000, { message: sealed(`9000${i}`) });
    const crashed = a.runOnce();

    await sleep(50);
    await backend.elapse(250);
    const healthy = new RecordingChannel("email");
    // Relays of one deployment share the lease: on Redis it is the claimer's to judge.
    const b = relayWith(healthy, await backend.queue(), { leaseMs: 150 });
    expect(await b.runOnce()).toBe(7);
    await crashed; // A wakes up: its late outcomes are fenced off and change nothing.
    await backend.elapse(250);
    expect(await b.runOnce()).toBe(0);

    const delivered = [...crashing.sent, ...healthy.sent].map((message) => message.text).sort();
    expect(delivered).toEqual(Array.from({ length: 10 }, (_, i) => `code 9000${i}`).sort());
  });

  it("runs in the background and sends a message as soon as its code is stored, in the shard it was nudged for", async () => {
    const channel = new RecordingChannel("email");
    const relay = relayWith(channel, await backend.queue(), { pollIntervalMs: 60_000 });
    const nudged: number[] = [];
    backend.onQueued = (shard) => {
      nudged.push(shard);
      relay.nudge(shard);
    };
    relay.start();
    try {
      await sleep(50); // the first round, a sweep, is over: what follows is the nudge's doing
      await backend.secrets.put("v:1", secret, 60_000, { message: sealed("121212") });
      await expect.poll(() => channel.sent.length, { timeout: 2_000 }).toBe(1);
      expect(nudged).toHaveLength(1);
    } finally {
      await relay.stop();
    }
  });

  it("sends a message queued while a round is busy right after that round, not at the next poll", async () => {
    const channel = new RecordingChannel("email").answer("hang");
    const relay = relayWith(channel, await backend.queue(), { pollIntervalMs: 60_000, sendTimeoutMs: 300 });
    backend.onQueued = (shard) => relay.nudge(shard);
    relay.start();
    try {
      await backend.secrets.put("v:1", secret, 60_000, { message: sealed("111000") });
      await sleep(100);
      await backend.secrets.put("v:2", secret, 60_000, { message: sealed("222000") });
      await expect.poll(() => texts(channel), { timeout: 3_000 }).toContain("code 222000");
    } finally {
      await relay.stop();
    }
  });
});

describe("the relay's claims", () => {
  it("look only in the shards nudged since the last round, and everywhere at each poll", async () => {
    const secrets = new MemoryPendingSecrets({ sweepIntervalMs: 0, onQueued: (shard) => relay.nudge(shard) });
    const scopes: (number[] | "everywhere")[] = [];
    const watched: MessageQueue = {
      claim: (limit, leaseMs, partitions) => {
        scopes.push(partitions === undefined ? "everywhere" : [...partitions].sort((x, y) => x - y));
        return secrets.messages.claim(limit, leaseMs, partitions);
      },
      record: (outcomes) => secrets.messages.record(outcomes),
      tidy: () => secrets.messages.tidy(),
      backlog: () => secrets.messages.backlog(),
    };
    const channel = new RecordingChannel("email");
    const { logger } = capturingLogger();
    const relay = new OutboxRelay(watched, box, new Sender(channelRegistry({ email: channel }), logger, createMetrics()), logger, {
      ...fastRetry,
      pollIntervalMs: 400,
      nudgeDelayMs: 20,
    });
    relay.start();
    try {
      await sleep(50);
      expect(scopes).toEqual(["everywhere"]);
      const keys = ["a", "b", "c", "d", "e", "f"];
      const other = keys.find((key) => secretShard(key) !== secretShard(keys[0]!)) ?? "b";
      await secrets.put(keys[0]!, secret, 60_000, { message: sealed("1") });
      await secrets.put(other, secret, 60_000, { message: sealed("2") });
      await expect.poll(() => channel.sent.length, { timeout: 2_000 }).toBe(2);
      expect(scopes[1]).toEqual([secretShard(keys[0]!), secretShard(other)].sort((x, y) => x - y));
      await expect.poll(() => scopes.length, { timeout: 2_000 }).toBe(3);
      expect(scopes[2]).toBe("everywhere");
    } finally {
      await relay.stop();
      await secrets.close();
    }
  });
});

describe("the relay under a steady stream of nudges", () => {
  it("still sweeps every shard each poll interval, so a message no nudge names goes out", async () => {
    // Nobody is told of this store's messages: only a sweep can find them.
    const secrets = new MemoryPendingSecrets({ sweepIntervalMs: 0 });
    const channel = new RecordingChannel("email");
    const { logger } = capturingLogger();
    const pollIntervalMs = 300;
    const relay = new OutboxRelay(secrets.messages, box, new Sender(channelRegistry({ email: channel }), logger, createMetrics()), logger, {
      ...fastRetry,
      pollIntervalMs,
      nudgeDelayMs: 5,
    });
    const quiet = "quiet-shard";
    const busyShard = (secretShard(quiet) + 1) % defaultSecretShardCount;
    relay.start();
    const nudges = setInterval(() => relay.nudge(busyShard), pollIntervalMs / 3);
    try {
      await sleep(50); // the first sweep is over
      await secrets.put(quiet, secret, 60_000, { message: sealed("313131") });
      await expect.poll(() => texts(channel), { timeout: 2 * pollIntervalMs + 100, interval: 20 }).toEqual(["code 313131"]);
    } finally {
      clearInterval(nudges);
      await relay.stop();
      await secrets.close();
    }
  });
});

describe("the relay over Redis across a Redis restart", () => {
  let redis: PrivateRedis;

  beforeAll(async () => {
    redis = await startPrivateRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it("sends nothing that was queued before Redis lost its data, and carries on after", async () => {
    const { logger, records } = capturingLogger();
    const client = new Redis(redis.url, { maxRetriesPerRequest: 1 });
    client.on("error", () => {});
    try {
      const keyPrefix = "restart:";
      const secrets = new RedisPendingSecrets({ redis: client, keyPrefix, ownsClient: false });
      const channel = new RecordingChannel("email");
      const relay = new OutboxRelay(new RedisSecretQueue({ redis: client, keyPrefix }), box, new Sender(channelRegistry({ email: channel }), logger, createMetrics()), logger, fastRetry);
      for (let i = 0; i < 5; i++) await secrets.put(`v:${i}`, secret, 60_000, { message: sealed(`30000${i}`) });

      await redis.restart();
      await expect.poll(() => client.ping().catch(() => "down"), { timeout: 5_000 }).toBe("PONG");

      expect(await relay.runOnce()).toBe(0);
      expect(channel.sent).toEqual([]);
      // The queue and its group come back with the next code.
      await secrets.put("v:after", secret, 60_000, { message: sealed("399999") });
      expect(await relay.runOnce()).toBe(1);
      expect(texts(channel)).toEqual(["code 399999"]);
      expect(records.filter((record) => record.level === "error" || record.level === 50)).toEqual([]);
    } finally {
      client.disconnect();
    }
  });
});
