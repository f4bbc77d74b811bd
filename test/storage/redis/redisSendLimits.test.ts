import { setTimeout as sleep } from "node:timers/promises";
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { RedisSendLimits } from "../../../src/storage/redis/redisSendLimits.js";
import type { SendRequest } from "../../../src/domain/secrets/sendLimits.js";
import { startPrivateRedis } from "../../support/privateRedis.js";
import { connectTestRedis, deleteKeysWithPrefix, escapeGlob, scanKeys, uniqueTestPrefix } from "../../support/redis.js";
import { describeSendLimitsContract } from "../sendLimits.contract.js";

const filePrefix = uniqueTestPrefix("redis-send-limits");
let admin: Redis;
let fixtureNumber = 0;

beforeAll(async () => {
  admin = await connectTestRedis();
});

afterAll(async () => {
  if (admin === undefined) return;
  await deleteKeysWithPrefix(admin, filePrefix);
  await admin.quit();
});

/** An admission on its own connection; admissions sharing a keyPrefix see the same state. */
async function openAdmission(keyPrefix: string): Promise<RedisSendLimits> {
  return new RedisSendLimits({ redis: await connectTestRedis(), keyPrefix });
}

describeSendLimitsContract("RedisSendLimits", async () => {
  // Fresh state per test: its own prefix under the file's.
  const keyPrefix = `${filePrefix}${fixtureNumber++}:`;
  const opened = [await openAdmission(keyPrefix)];
  const [admission] = opened as [RedisSendLimits];
  return {
    admission,
    peer: async () => {
      const peer = await openAdmission(keyPrefix);
      opened.push(peer);
      return peer;
    },
    // Redis's clock is the one that counts, so time really has to pass.
    elapse: (ms) => sleep(ms),
    close: async () => {
      await Promise.all(opened.map((each) => each.close()));
    },
  };
});

describe("RedisSendLimits in Redis", () => {
  const keyPrefix = `${filePrefix}layout:`;
  let admission: RedisSendLimits;
  const request: SendRequest = {
    scope: "c0ffee",
    bucket: "email",
    idempotency: { key: "retry-1", fingerprint: "fp", ttlMs: 30_000 },
    sends: { limit: 3, windowMs: 60_000, firstResendDelayMs: 1_000, maxResendDelayMs: 8_000 },
    guesses: { limit: 10, windowMs: 50_000, reserve: 3 },
  };

  beforeAll(async () => {
    admission = await openAdmission(keyPrefix);
  });

  afterAll(async () => {
    await admission?.close();
  });

  afterEach(async () => {
    await deleteKeysWithPrefix(admin, keyPrefix);
  });

  it("writes only keys tagged {scope} under its prefix, each with an expiry", async () => {
    await admission.admit(request);
    await admission.completeIdempotency("c0ffee", "retry-1", "fp", "answer", 60_000);
    await admission.refund("c0ffee", "phone", { guesses: 1, sendNumber: 1 });

    const keys = await scanKeys(admin, `${escapeGlob(keyPrefix)}*`);
    expect(keys.sort()).toEqual(
      ["adm:{c0ffee}:guess", "adm:{c0ffee}:idem:retry-1", "adm:{c0ffee}:send:email"].map((name) => keyPrefix + name),
    );
    const ttls = Object.fromEntries(await Promise.all(keys.map(async (key) => [key.slice(keyPrefix.length), await admin.pttl(key)])));
    expect(ttls["adm:{c0ffee}:send:email"]).toBeGreaterThan(59_000);
    expect(ttls["adm:{c0ffee}:send:email"]).toBeLessThanOrEqual(60_000);
    expect(ttls["adm:{c0ffee}:guess"]).toBeGreaterThan(49_000);
    expect(ttls["adm:{c0ffee}:guess"]).toBeLessThanOrEqual(50_000);
    // Completion kept the pending key's expiry rather than taking its own.
    expect(ttls["adm:{c0ffee}:idem:retry-1"]).toBeGreaterThan(29_000);
    expect(ttls["adm:{c0ffee}:idem:retry-1"]).toBeLessThanOrEqual(30_000);
    expect(await admin.hgetall(`${keyPrefix}adm:{c0ffee}:idem:retry-1`)).toEqual({ fingerprint: "fp", answer: "answer" });
    expect(await admin.get(`${keyPrefix}adm:{c0ffee}:guess`)).toBe("2");
  });

  it("charges nothing when a key holds a foreign value (reads come before writes)", async () => {
    await admin.set(`${keyPrefix}adm:{c0ffee}:guess`, "not a number", "PX", 60_000);
    await expect(admission.admit(request)).rejects.toThrow();
    expect(await scanKeys(admin, `${escapeGlob(keyPrefix)}*`)).toEqual([`${keyPrefix}adm:{c0ffee}:guess`]);
  });

  it("recovers when Redis has forgotten its scripts (EVALSHA falls back on NOSCRIPT)", async () => {
    // A Redis of its own: flushing the shared one's scripts would disturb other files' round-trip counts.
    const own = await startPrivateRedis();
    const client = new Redis(own.url);
    const forgetful = new RedisSendLimits({ redis: client, keyPrefix });
    try {
      await forgetful.admit(request);
      await client.script("FLUSH");
      expect((await forgetful.admit({ ...request, scope: "c0ffee2" })).status).toBe("admitted");
    } finally {
      await forgetful.close();
      await own.stop();
    }
  });

  it("refuses a client that prefixes keys itself", () => {
    const prefixed = new Redis({ lazyConnect: true, keyPrefix: "x:" });
    expect(() => new RedisSendLimits({ redis: prefixed, keyPrefix })).toThrow(/keyPrefix/);
    prefixed.disconnect();
  });

  it("refuses work once closed, and leaves a shared client open", async () => {
    const shared = await connectTestRedis();
    const borrowing = new RedisSendLimits({ redis: shared, keyPrefix, ownsClient: false });
    await borrowing.close();
    await expect(borrowing.admit(request)).rejects.toThrow(/closed/);
    expect(await shared.ping()).toBe("PONG");
    await shared.quit();
  });
});
