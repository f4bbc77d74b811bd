import { setTimeout as sleep } from "node:timers/promises";
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { RedisSendLimits } from "../../../src/storage/redis/redisSendLimits.js";
import type { SendRequest, TrafficRequest } from "../../../src/domain/secrets/sendLimits.js";
import type { StoreCalls } from "../../../src/observability/storeCalls.js";
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

  it("keeps traffic keys tagged by channel, or by channel and country, never by the destination, each with an expiry", async () => {
    const traffic: TrafficRequest = {
      channel: "sms",
      global: { limit: 10, windowMs: 40_000 },
      area: {
        country: "GB",
        prefix: "p447700",
        prefixLimit: { limit: 10, windowMs: 30_000 },
        countryLimit: { limit: 10, windowMs: 20_000 },
        spend: { cost: 3, hourly: 100, daily: 1_000 },
        conversion: { windowMs: 10_000, minRatio: 0.1, prefixMinSends: 5, countryMinSends: 5 },
      },
    };
    const guesses = { ...request.guesses, long: { limit: 100, windowMs: 70_000 }, streak: { limit: 5, windowMs: 5_000 } };
    expect((await admission.admit({ ...request, guesses, traffic })).status).toBe("admitted");
    await admission.recordConversion(traffic);
    await admission.recordGuess("c0ffee", "wrong", 5_000);

    const keys = await scanKeys(admin, `${escapeGlob(keyPrefix)}*`);
    const ttls = Object.fromEntries(await Promise.all(keys.map(async (key) => [key.slice(keyPrefix.length), await admin.pttl(key)] as const)));
    const expiries = {
      "adm:{c0ffee}:send:email": 60_000,
      "adm:{c0ffee}:guess": 50_000,
      "adm:{c0ffee}:guess:long": 70_000,
      "adm:{c0ffee}:idem:retry-1": 30_000,
      "adm:{c0ffee}:streak": 5_000,
      "traffic:{sms}:global": 40_000,
      "traffic:{sms:GB}:prefix:p447700": 30_000,
      "traffic:{sms:GB}:country": 20_000,
      "traffic:{sms:GB}:spend:hour": 3_600_000,
      "traffic:{sms:GB}:spend:day": 86_400_000,
      "traffic:{sms:GB}:conv:prefix:p447700": 10_000,
      "traffic:{sms:GB}:conv:country": 10_000,
    };
    expect(Object.keys(ttls).sort()).toEqual(Object.keys(expiries).sort());
    for (const [name, windowMs] of Object.entries(expiries)) {
      expect(ttls[name], name).toBeGreaterThan(windowMs - 1_000);
      expect(ttls[name], name).toBeLessThanOrEqual(windowMs);
    }
    expect(await admin.get(`${keyPrefix}traffic:{sms:GB}:spend:day`)).toBe("3");
    expect(await admin.hgetall(`${keyPrefix}traffic:{sms:GB}:conv:country`)).toEqual({ sends: "1", validated: "1" });
  });

  it("opens no window when it counts a validation outside one", async () => {
    await admission.recordConversion({
      channel: "sms",
      area: { country: "GB", prefix: "p447700", conversion: { windowMs: 10_000, minRatio: 0.1, prefixMinSends: 5, countryMinSends: 5 } },
    });
    expect(await scanKeys(admin, `${escapeGlob(keyPrefix)}*`)).toEqual([]);
  });

  it("admits and refunds with every traffic rule in one script call: one round trip each", async () => {
    const scripts: string[] = [];
    const calls: StoreCalls = { begin: (operation) => (scripts.push(operation.summary), () => {}) };
    const counted = new RedisSendLimits({ redis: await connectTestRedis(), keyPrefix, calls });
    const traffic: TrafficRequest = {
      channel: "sms",
      global: { limit: 1, windowMs: 60_000 },
      area: {
        country: "GB",
        prefix: "p447700",
        prefixLimit: { limit: 5, windowMs: 60_000 },
        countryLimit: { limit: 5, windowMs: 60_000 },
        spend: { cost: 1, hourly: 5, daily: 5 },
        conversion: { windowMs: 60_000, minRatio: 0.1, prefixMinSends: 5, countryMinSends: 5 },
      },
    };
    try {
      expect((await counted.admit({ ...request, traffic })).status).toBe("admitted");
      expect(scripts.splice(0)).toEqual(["EVALSHA onetimeLimits_admit"]);
      expect(await counted.admit({ ...request, scope: "c0ffee2", traffic })).toMatchObject({ status: "traffic", rule: "channel_rate" });
      expect(scripts.splice(0)).toEqual(["EVALSHA onetimeLimits_admit"]);
      await counted.refund("c0ffee", "email", { guesses: 3, sendNumber: 1, traffic });
      expect(scripts.splice(0)).toEqual(["EVALSHA onetimeLimits_refund"]);
    } finally {
      await counted.close();
    }
  });

  it("charges nothing when a key holds a foreign value (reads come before writes)", async () => {
    await admin.set(`${keyPrefix}adm:{c0ffee}:guess`, "not a number", "PX", 60_000);
    await expect(admission.admit(request)).rejects.toThrow();
    expect(await scanKeys(admin, `${escapeGlob(keyPrefix)}*`)).toEqual([`${keyPrefix}adm:{c0ffee}:guess`]);
  });

  it("charges nothing when a traffic key holds a foreign value", async () => {
    await admin.set(`${keyPrefix}traffic:{sms:GB}:conv:country`, "not a hash", "PX", 60_000);
    const traffic: TrafficRequest = {
      channel: "sms",
      global: { limit: 5, windowMs: 60_000 },
      area: { country: "GB", prefix: "p1", conversion: { windowMs: 60_000, minRatio: 0.1, prefixMinSends: 5, countryMinSends: 5 } },
    };
    await expect(admission.admit({ ...request, traffic })).rejects.toThrow();
    expect(await scanKeys(admin, `${escapeGlob(keyPrefix)}*`)).toEqual([`${keyPrefix}traffic:{sms:GB}:conv:country`]);
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
