import { randomBytes, randomInt, randomUUID } from "node:crypto";
import { performance } from "node:perf_hooks";
import { Redis } from "ioredis";
import { encodeStored, verificationKey } from "../src/domain/verification/verification.js";
import { openDatabase, type Database } from "../src/storage/sql/database.js";
import { sqlOutbox } from "../src/storage/sql/sqlOutbox.js";
import { RedisPendingSecrets } from "../src/storage/redis/redisPendingSecrets.js";
import { secretKeyName } from "../src/storage/redis/secretKeyspace.js";
import { secretShard } from "../src/storage/secretShards.js";
import { runLoad } from "./loadGenerator.js";
import { benchTag, databaseUrl, deleteRedisPrefix, dropSchema, redisUrl } from "./server/backends.js";
import { round1, summarize, type LatencySummary } from "./stats.js";
import { sealedPayload } from "./stores/outboxRows.js";
import { keyedHash } from "../src/crypto/keyedHash.js";

// No TOTP rows here: any key will do for the migrations.
const benchMigrationContext = { totpConsumerHash: keyedHash(randomBytes(32), "totp-consumer") };

/**
 * How cost grows with what is stored.
 *
 * Redis: live verifications written straight through RedisPendingSecrets.put (the store the
 * service uses), each a realistic record: a 43-character code hash, the verification's data as
 * the service encodes it (email consumer, no payload), 5 attempts, a 10-minute TTL. At each size:
 * INFO memory used_memory delta / N (and MEMORY USAGE of sampled keys as a cross-check: other
 * clients of the same Redis move used_memory too), then validate throughput: take of random
 * live keys, 32 at a time for a few seconds, with a hash that does not match (the attempt is
 * counted and compared, the same script path as a right code, but the population stays the size
 * it is). The keys are removed afterwards with SCAN + UNLINK.
 *
 * Postgres: outbox_messages in a bench schema created by the app's migrations, filled with
 * finished rows (as the relay leaves them: sent, payload NULL) by one insert ... select
 * generate_series, then 2000 single-row writes through the service's own sqlOutbox.enqueue,
 * 32 at a time, after an unmeasured warm-up (connections, caches).
 */

export interface GrowthOptions {
  readonly redisSizes: readonly number[];
  readonly postgresSizes: readonly number[];
  readonly validateSeconds: number;
  /**
   * Unmeasured validations before each measured window. Short on purpose: there is no server
   * here (the bench process drives Redis through RedisPendingSecrets itself), so the ~10 s JIT ramp of
   * a full server does not apply; at 25-45k validations/s (measured), 2 s is 50k calls or more of the same code
   * path, far past V8's optimisation thresholds, and every later size starts warm.
   */
  readonly validateWarmupSeconds: number;
  readonly postgresWrites: number;
}

export interface RedisGrowthStep {
  readonly liveVerifications: number;
  readonly populateSeconds: number;
  readonly usedMemoryDeltaBytes: number;
  readonly bytesPerVerification: number;
  /** Mean MEMORY USAGE (exact, SAMPLES 0) of 200 random keys: the key alone, without the keyspace overhead. */
  readonly sampledKeyBytes: number;
  readonly validatePerSecond: number;
  readonly validateLatencyMs: LatencySummary;
  readonly validateErrors: number;
}

export interface PostgresGrowthStep {
  readonly existingRows: number;
  readonly populateSeconds: number;
  readonly tableBytes: number;
  readonly writes: number;
  readonly writesPerSecond: number;
  readonly latencyMs: LatencySummary;
}

export interface GrowthResult {
  readonly redis: readonly RedisGrowthStep[];
  readonly postgres: readonly PostgresGrowthStep[];
  readonly findings: readonly string[];
}

export async function runGrowth(options: GrowthOptions, progress: (line: string) => void): Promise<GrowthResult> {
  const redis = await redisGrowth(options, progress);
  const postgres = await postgresGrowth(options, progress);
  return { redis, postgres, findings: findings(redis, postgres) };
}

async function redisGrowth(options: GrowthOptions, progress: (line: string) => void): Promise<RedisGrowthStep[]> {
  const prefix = `bench:growth:${benchTag()}:`;
  // Writes: auto-pipelined, ~256 in flight. Validation: one plain connection, as the server has.
  const writer = new Redis(redisUrl(), { lazyConnect: true, enableAutoPipelining: true, maxRetriesPerRequest: 1 });
  const reader = new Redis(redisUrl(), { lazyConnect: true, maxRetriesPerRequest: 1, commandTimeout: 10_000 });
  await writer.connect();
  await reader.connect();
  const writeStore = new RedisPendingSecrets({ redis: writer, keyPrefix: prefix, ownsClient: false });
  const readStore = new RedisPendingSecrets({ redis: reader, keyPrefix: prefix, ownsClient: false });
  const ids: string[] = [];
  const steps: RedisGrowthStep[] = [];
  try {
    const baseline = await usedMemory(reader);
    for (const size of options.redisSizes) {
      progress(`growth: populating Redis to ${size} live verifications`);
      const started = performance.now();
      await populate(writeStore, ids, size);
      const populateSeconds = round1((performance.now() - started) / 1000);
      const delta = (await usedMemory(reader)) - baseline;
      const sampledKeyBytes = await sampleKeyBytes(reader, prefix, ids);
      progress(`growth: validating against ${size} live verifications for ${options.validateSeconds} s after ${options.validateWarmupSeconds} s of warm-up`);
      const wrongHash = randomBytes(32).toString("base64url");
      const load = await runLoad(
        async (recorder) => {
          await recorder.call(() => readStore.take(verificationKey(ids[randomInt(ids.length)]!), wrongHash));
        },
        { concurrency: 32, warmupMs: options.validateWarmupSeconds * 1000, durationMs: options.validateSeconds * 1000, mode: { kind: "closed" } },
      );
      steps.push({
        liveVerifications: size,
        populateSeconds,
        usedMemoryDeltaBytes: delta,
        bytesPerVerification: Math.round(delta / size),
        sampledKeyBytes,
        validatePerSecond: load.rpcPerSecond,
        validateLatencyMs: load.latencyMs,
        validateErrors: load.errors + load.warmupErrors,
      });
    }
  } finally {
    progress("growth: removing the bench keys (SCAN + UNLINK)");
    await deleteRedisPrefix(prefix, reader);
    writer.disconnect();
    reader.disconnect();
  }
  return steps;
}

/** Adds verifications until `ids` holds `size`, ~256 writes in flight. */
async function populate(store: RedisPendingSecrets, ids: string[], size: number): Promise<void> {
  const ttlMs = 600_000;
  let next = ids.length;
  const writeOne = async () => {
    while (next < size) {
      const index = next++;
      const id = randomUUID();
      const now = Date.now();
      const data = encodeStored({
        method: "email",
        consumer: `b${index}@bench.example`,
        expireAt: new Date(now + ttlMs),
        maxAttempts: 5,
        nextResendAt: new Date(now),
        resendCount: 0,
      });
      await store.put(verificationKey(id), { hash: randomBytes(32).toString("base64url"), maxAttempts: 5, data }, ttlMs);
      ids.push(id);
    }
  };
  await Promise.all(Array.from({ length: 256 }, writeOne));
}

async function usedMemory(redis: Redis): Promise<number> {
  const info = await redis.info("memory");
  const match = /^used_memory:(\d+)\r?$/m.exec(info);
  if (match === null) throw new Error("INFO memory has no used_memory");
  return Number(match[1]);
}

async function sampleKeyBytes(redis: Redis, prefix: string, ids: readonly string[]): Promise<number> {
  const sample = Array.from({ length: Math.min(200, ids.length) }, () => ids[randomInt(ids.length)]!);
  if (sample.length === 0) return 0;
  let total = 0;
  for (const id of sample) {
    const key = verificationKey(id);
    total += Number(await redis.call("MEMORY", "USAGE", secretKeyName(prefix, secretShard(key), key), "SAMPLES", "0"));
  }
  return Math.round(total / sample.length);
}

async function postgresGrowth(options: GrowthOptions, progress: (line: string) => void): Promise<PostgresGrowthStep[]> {
  const schema = `bench_growth_${benchTag()}`;
  const db = await openDatabase({ kind: "postgres", url: databaseUrl(), schema, poolMax: 32 }, benchMigrationContext);
  const steps: PostgresGrowthStep[] = [];
  try {
    const outbox = sqlOutbox(db);
    let existing = 0;
    for (const size of options.postgresSizes) {
      progress(`growth: outbox_messages with ${size} existing rows`);
      const started = performance.now();
      if (size > existing) {
        await fillFinishedRows(db, size - existing);
        await db.raw("analyze outbox_messages");
      }
      const populateSeconds = round1((performance.now() - started) / 1000);
      existing = Number((await db("outbox_messages").count<Array<{ count: string }>>({ count: "*" }))[0]!.count);
      const tableBytes = Number((await db.raw<{ rows: Array<{ bytes: string }> }>("select pg_total_relation_size('outbox_messages') as bytes")).rows[0]!.bytes);
      const payload = sealedPayload();
      const latencies: number[] = [];
      const write = async (count: number, record: boolean) => {
        let remaining = count;
        await Promise.all(
          Array.from({ length: 32 }, async () => {
            while (remaining > 0) {
              remaining--;
              const t = performance.now();
              await outbox.enqueue({
                id: randomUUID(),
                kind: "email",
                template: "verification",
                reference: randomUUID(),
                sealedPayload: payload,
                maxAttempts: 8,
                expiresAt: new Date(Date.now() + 600_000),
              });
              if (record) latencies.push(performance.now() - t);
            }
          }),
        );
      };
      // Unmeasured first, as many again: the pool's 32 connections are opened and the caches and
      // JIT warmed, so the first size does not pay for what the later ones get for free.
      const warmup = options.postgresWrites;
      await write(warmup, false);
      const writesStarted = performance.now();
      await write(options.postgresWrites, true);
      const seconds = (performance.now() - writesStarted) / 1000;
      steps.push({
        existingRows: existing,
        populateSeconds,
        tableBytes,
        writes: options.postgresWrites,
        writesPerSecond: round1(options.postgresWrites / seconds),
        latencyMs: summarize(latencies),
      });
      existing += warmup + options.postgresWrites;
    }
  } finally {
    await db.destroy();
    await dropSchema(schema);
  }
  return steps;
}

/** Finished messages as the relay leaves them: sent, payload cleared. */
async function fillFinishedRows(db: Database, count: number): Promise<void> {
  await db.raw(
    `insert into outbox_messages (id, kind, template, reference, status, attempts, max_attempts, next_attempt_at, expires_at, payload, created_at, updated_at, finished_at)
     select gen_random_uuid(), 'email', 'verification', gen_random_uuid()::text, 'sent', 1, 8, now(), now() + interval '10 minutes', null, now(), now(), now()
       from generate_series(1, ?)`,
    [count],
  );
}

/** Plain-language statements of how each cost grows, from the first size to the last. */
function findings(redis: readonly RedisGrowthStep[], postgres: readonly PostgresGrowthStep[]): string[] {
  const lines: string[] = [];
  const change = (from: number, to: number) => (from === 0 ? 0 : Math.round(((to - from) / from) * 100));
  const trend = (percent: number) => (Math.abs(percent) <= 10 ? "flat within noise (±10%)" : percent < 0 ? `down ${-percent}%` : `up ${percent}%`);
  const first = redis[0];
  const last = redis[redis.length - 1];
  if (first !== undefined && last !== undefined) {
    const perKey = redis.map((step) => `${step.bytesPerVerification} B at ${step.liveVerifications}`).join(", ");
    lines.push(
      `Redis memory grows linearly with live verifications: ${perKey} per verification (MEMORY USAGE of one record: ${last.sampledKeyBytes} B); ` +
        `they expire with their TTL, so memory follows the rate of initiations x TTL.`,
    );
    if (redis.length > 1) {
      lines.push(
        `Validate throughput from ${first.liveVerifications} to ${last.liveVerifications} live verifications: ${first.validatePerSecond} -> ${last.validatePerSecond}/s, ` +
          `${trend(change(first.validatePerSecond, last.validatePerSecond))} (expected flat: a lookup is one hash-table access, O(1) in the number of keys; ` +
          `a change this size on a shared machine needs a second run before it is read as a trend).`,
      );
    }
  }
  const firstPg = postgres[0];
  const lastPg = postgres[postgres.length - 1];
  if (firstPg !== undefined && lastPg !== undefined && postgres.length > 1) {
    lines.push(
      `Outbox write from ${firstPg.existingRows} to ${lastPg.existingRows} existing rows: ${firstPg.writesPerSecond} -> ${lastPg.writesPerSecond} writes/s ` +
        `(mean ${firstPg.latencyMs.mean} -> ${lastPg.latencyMs.mean} ms), ${trend(change(firstPg.writesPerSecond, lastPg.writesPerSecond))} ` +
        `(expected close to flat: an insert pays for the primary-key B-tree, O(log n), and WAL; finished rows stay out of the partial due-index). ` +
        `The table grows with every message (${Math.round(lastPg.tableBytes / 1024 / 1024)} MiB at ${lastPg.existingRows} rows) until rows are purged.`,
    );
  }
  return lines;
}
