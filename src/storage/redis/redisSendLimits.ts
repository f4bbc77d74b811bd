import { Cluster } from "ioredis";
import type { StoreCalls } from "../../observability/storeCalls.js";
import { assertNoClientKeyPrefix, type RedisClient } from "./redisClient.js";
import { idempotencyKey, streakKey } from "../sendLimitKeyspace.js";
import { decodeAdmissionResult, decodeInteger } from "./redisReplies.js";
import { defineScriptCommands, type ScriptCommand } from "./redisScriptCommands.js";
import {
  admitScript,
  admitTrafficScript,
  completeIdempotencyScript,
  recordConversionScript,
  recordGuessScript,
  refundScript,
  refundTrafficScript,
  releaseIdempotencyScript,
} from "./sendLimitScripts.js";
import type { SendRefund, SendRequest, SendDecision, SendLimits, TrafficRequest } from "../../domain/secrets/sendLimits.js";
import { StoreWork } from "../../domain/storeWork.js";
import { assertAdmissionRequest, assertGuessOutcome, assertIdempotency, assertRefund, assertScope, assertTraffic } from "../sendLimitArguments.js";
import { assertPositiveInteger } from "../storeArguments.js";
import { allChecks, trafficPlan } from "../trafficPlan.js";
import { destinationCall, joinCalls, refundCall, trafficCall, type ScriptCall } from "./sendLimitCalls.js";
import { admitSlotBySlot, refundSlotBySlot, type ReportLeft, type SlotScripts } from "./clusterAdmission.js";
import type { Logger } from "../../observability/logger.js";

export interface RedisSendLimitsOptions {
  /** Where each script call is observed (span, metrics); unobserved by default. */
  readonly calls?: StoreCalls;
  /**
   * The client to use. Required. It must not set ioredis' own `keyPrefix`: keys are prefixed
   * here so that scripts and SCAN see the same names. It may be the pending secrets' client.
   */
  readonly redis: RedisClient;
  /** Prepended to every key, so onetime can share a Redis and tests can isolate. Default "onetime:". */
  readonly keyPrefix?: string;
  /** Whether close() quits the client; false when the client is shared. Default true. */
  readonly ownsClient?: boolean;
  /** Told (at warn) what a Cluster admit charged and could not give back; silent by default. */
  readonly logger?: Logger;
}

type ScriptName = keyof SlotScripts | "recordGuess" | "recordConversion" | "completeIdempotency" | "releaseIdempotency";
type RunScript = (call: ScriptCall, work: StoreWork | undefined) => Promise<unknown>;

/**
 * Send limits on Redis. Round trips, which is what this class is about:
 * - single Redis: every operation is ONE script, one round trip, admit and refund with traffic
 *   included (a script may touch keys of any slot when the server is not a Cluster);
 * - Redis Cluster: a script's keys must share a slot, and traffic keys are not the destination's
 *   (they count every destination together), so admit runs up to three scripts, one per slot,
 *   and undoes the earlier ones on a later refusal (clusterAdmission.ts); refund runs one per slot.
 * recordGuess and recordConversion are one script on either (each over one slot's keys).
 */
export class RedisSendLimits implements SendLimits {
  readonly #redis: RedisClient;
  readonly #scripts: Record<ScriptName, RunScript>;
  readonly #keyPrefix: string;
  readonly #ownsClient: boolean;
  readonly #cluster: boolean;
  readonly #reportLeft: ReportLeft;
  #closed = false;

  constructor(options: RedisSendLimitsOptions) {
    assertNoClientKeyPrefix(options.redis, "RedisSendLimits");
    this.#redis = options.redis;
    this.#cluster = options.redis instanceof Cluster;
    const commands = defineScriptCommands(options.redis, "onetimeLimits", {
      admit: admitScript,
      admitTraffic: admitTrafficScript,
      refund: refundScript,
      refundTraffic: refundTrafficScript,
      recordGuess: recordGuessScript,
      recordConversion: recordConversionScript,
      completeIdempotency: completeIdempotencyScript,
      releaseIdempotency: releaseIdempotencyScript,
    }, options.calls);
    this.#scripts = mapValues(commands, (command: ScriptCommand): RunScript => (call, work) => command(work, call.keys, ...call.args));
    this.#keyPrefix = options.keyPrefix ?? "onetime:";
    this.#ownsClient = options.ownsClient ?? true;
    const logger = options.logger;
    this.#reportLeft = (left) => logger?.warn({ left }, "a refused or failed admit could not give back its charges; they expire with their windows");
  }

  async admit(request: SendRequest, work?: StoreWork): Promise<SendDecision> {
    assertAdmissionRequest(request);
    this.#open();
    const plan = trafficPlan(request.traffic);
    // Its steps and their undo are one piece of work, whether or not the caller's is.
    if (this.#cluster) return admitSlotBySlot(this.#scripts, this.#keyPrefix, request, plan, this.#reportLeft, work ?? new StoreWork());
    // One script for the destination and every traffic rule: one round trip, all or nothing.
    const call = joinCalls(destinationCall(this.#keyPrefix, request), trafficCall(this.#keyPrefix, allChecks(plan)));
    return decodeAdmissionResult(await this.#scripts.admit(call, work));
  }

  async completeIdempotency(scope: string, key: string, fingerprint: string, answer: string, ttlMs: number, work?: StoreWork): Promise<void> {
    assertScope(scope);
    assertIdempotency(key, fingerprint);
    assertPositiveInteger("ttlMs", ttlMs);
    const reply = await this.#scripts.completeIdempotency({ keys: [this.#idempotencyKey(scope, key)], args: [fingerprint, answer, ttlMs] }, work);
    decodeInteger("completeIdempotency", reply);
  }

  async releaseIdempotency(scope: string, key: string, fingerprint: string, work?: StoreWork): Promise<void> {
    assertScope(scope);
    assertIdempotency(key, fingerprint);
    decodeInteger("releaseIdempotency", await this.#scripts.releaseIdempotency({ keys: [this.#idempotencyKey(scope, key)], args: [fingerprint] }, work));
  }

  async refund(scope: string, bucket: string, refund: SendRefund, work?: StoreWork): Promise<void> {
    assertRefund(scope, bucket, refund);
    this.#open();
    const plan = trafficPlan(refund.traffic);
    if (this.#cluster) return refundSlotBySlot(this.#scripts, this.#keyPrefix, { scope, bucket, refund }, plan, work);
    const call = joinCalls(refundCall(this.#keyPrefix, scope, bucket, refund), trafficCall(this.#keyPrefix, allChecks(plan)));
    decodeInteger("refund", await this.#scripts.refund(call, work));
  }

  async recordGuess(scope: string, outcome: "wrong" | "right", streakWindowMs: number, work?: StoreWork): Promise<void> {
    assertGuessOutcome(scope, outcome, streakWindowMs);
    this.#open();
    decodeInteger("recordGuess", await this.#scripts.recordGuess({ keys: [this.#keyPrefix + streakKey(scope)], args: [outcome, streakWindowMs] }, work));
  }

  async recordConversion(traffic: TrafficRequest, work?: StoreWork): Promise<void> {
    assertTraffic(traffic);
    this.#open();
    // The area's conversion hashes only, all in its slot; without a conversion guard, nothing to count.
    const { conversions } = trafficPlan(traffic).area;
    if (conversions.length === 0) return;
    decodeInteger("recordConversion", await this.#scripts.recordConversion(trafficCall(this.#keyPrefix, { counters: [], conversions }), work));
  }

  /** Quits the client if these limits own it; further calls reject. Calling it twice is harmless. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#ownsClient) await this.#redis.quit();
  }

  #idempotencyKey(scope: string, key: string): string {
    this.#open();
    return this.#keyPrefix + idempotencyKey(scope, key);
  }

  /** Limits closed over a shared client must refuse work as one that quit its own client does. */
  #open(): void {
    if (this.#closed) throw new Error("send limits are closed");
  }
}

function mapValues<K extends string, A, B>(record: Record<K, A>, map: (value: A) => B): Record<K, B> {
  return Object.fromEntries(Object.entries<A>(record).map(([key, value]) => [key, map(value)])) as Record<K, B>;
}
