import type { StoreCalls } from "../../observability/storeCalls.js";
import { assertNoClientKeyPrefix, type RedisClient } from "./redisClient.js";
import { admissionKeys, idempotencyKey } from "../sendLimitKeyspace.js";
import { decodeAdmissionResult, decodeInteger } from "./redisReplies.js";
import { defineScriptCommands, type ScriptCommand } from "./redisScriptCommands.js";
import { admitScript, completeIdempotencyScript, refundScript, releaseIdempotencyScript } from "./sendLimitScripts.js";
import type { SendRefund, SendRequest, SendDecision, SendLimits } from "../../domain/secrets/sendLimits.js";
import { assertAdmissionRequest, assertIdempotency, assertRefund, assertScope } from "../sendLimitArguments.js";
import { assertNonNegativeInteger, assertPositiveInteger } from "../storeArguments.js";

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
}

/** Send limits on Redis: every operation is one script over one scope's keys, so one round trip. */
export class RedisSendLimits implements SendLimits {
  readonly #redis: RedisClient;
  readonly #scripts: Record<"admit" | "completeIdempotency" | "releaseIdempotency" | "refund", ScriptCommand>;
  readonly #keyPrefix: string;
  readonly #ownsClient: boolean;
  #closed = false;

  constructor(options: RedisSendLimitsOptions) {
    assertNoClientKeyPrefix(options.redis, "RedisSendLimits");
    this.#redis = options.redis;
    this.#scripts = defineScriptCommands(options.redis, "onetimeLimits", {
      admit: admitScript,
      completeIdempotency: completeIdempotencyScript,
      releaseIdempotency: releaseIdempotencyScript,
      refund: refundScript,
    }, options.calls);
    this.#keyPrefix = options.keyPrefix ?? "onetime:";
    this.#ownsClient = options.ownsClient ?? true;
  }

  async admit(request: SendRequest): Promise<SendDecision> {
    assertAdmissionRequest(request);
    this.#open();
    const { scope, bucket, idempotency, sends, guesses } = request;
    const names = admissionKeys(scope, bucket);
    const keys = [names.send, names.guess].map((name) => this.#keyPrefix + name);
    const args: (string | number)[] = [
      sends.limit,
      sends.windowMs,
      sends.firstResendDelayMs,
      sends.maxResendDelayMs,
      guesses.limit,
      guesses.windowMs,
      guesses.reserve,
    ];
    if (idempotency !== undefined) {
      keys.push(this.#keyPrefix + idempotencyKey(scope, idempotency.key));
      args.push(idempotency.fingerprint, idempotency.ttlMs);
    }
    return decodeAdmissionResult(await this.#scripts.admit(keys, ...args));
  }

  async completeIdempotency(scope: string, key: string, fingerprint: string, answer: string, ttlMs: number): Promise<void> {
    assertScope(scope);
    assertIdempotency(key, fingerprint);
    assertPositiveInteger("ttlMs", ttlMs);
    const reply = await this.#scripts.completeIdempotency([this.#idempotencyKey(scope, key)], fingerprint, answer, ttlMs);
    decodeInteger("completeIdempotency", reply);
  }

  async releaseIdempotency(scope: string, key: string, fingerprint: string): Promise<void> {
    assertScope(scope);
    assertIdempotency(key, fingerprint);
    decodeInteger("releaseIdempotency", await this.#scripts.releaseIdempotency([this.#idempotencyKey(scope, key)], fingerprint));
  }

  async refund(scope: string, bucket: string, refund: SendRefund): Promise<void> {
    assertRefund(scope, bucket, refund);
    this.#open();
    const names = admissionKeys(scope, bucket);
    const keys = [names.send, names.guess].map((name) => this.#keyPrefix + name);
    decodeInteger("refund", await this.#scripts.refund(keys, refund.guesses, refund.sendNumber ?? 0));
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
