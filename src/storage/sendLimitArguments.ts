import type { SendRefund, SendRequest, TrafficRequest, WindowLimit } from "../domain/secrets/sendLimits.js";
import { assertNonNegativeInteger, assertPositiveInteger } from "./storeArguments.js";

/*
 * Both SendLimits implementations check their arguments here, so a caller's mistake fails the same way on
 * either backend (a RangeError) rather than as a Redis error in production only.
 */

/** Longest scope, bucket, idempotency key, channel, country or prefix: each becomes part of a Redis key. */
export const maxKeyPartLength = 128;

export function assertAdmissionRequest(request: SendRequest): void {
  assertScope(request.scope);
  assertBucket(request.bucket);
  if (request.idempotency !== undefined) {
    const { key, fingerprint, ttlMs } = request.idempotency;
    assertIdempotency(key, fingerprint);
    assertPositiveInteger("idempotency.ttlMs", ttlMs);
  }
  const { sends, guesses } = request;
  assertPositiveInteger("sends.limit", sends.limit);
  assertPositiveInteger("sends.windowMs", sends.windowMs);
  assertNonNegativeInteger("sends.firstResendDelayMs", sends.firstResendDelayMs);
  assertNonNegativeInteger("sends.maxResendDelayMs", sends.maxResendDelayMs);
  assertPositiveInteger("guesses.limit", guesses.limit);
  assertPositiveInteger("guesses.windowMs", guesses.windowMs);
  assertPositiveInteger("guesses.reserve", guesses.reserve);
  if (guesses.long !== undefined) assertWindowLimit("guesses.long", guesses.long);
  if (guesses.streak !== undefined) assertWindowLimit("guesses.streak", guesses.streak);
  if (request.traffic !== undefined) assertTraffic(request.traffic);
}

/**
 * The channel and the country are hash tags of the traffic keys (sendLimitKeyspace.ts): a brace
 * would end the tag early, and a ':' in the channel would let "sms" + "GB:x" and "sms:GB" + "x"
 * name the same area. The prefix comes after the tag, so it only has to fit in a key.
 */
export function assertTraffic(traffic: TrafficRequest): void {
  assertTagPart("traffic.channel", traffic.channel);
  if (traffic.channel.includes(":")) throw new RangeError("traffic.channel must not contain ':'");
  if (traffic.pool !== undefined && !/^[a-z]{1,32}$/.test(traffic.pool)) throw new RangeError("traffic.pool must be 1 to 32 lowercase letters");
  if (traffic.global !== undefined) assertWindowLimit("traffic.global", traffic.global);
  const area = traffic.area;
  if (area === undefined) return;
  assertTagPart("traffic.area.country", area.country);
  assertKeyPart("traffic.area.prefix", area.prefix);
  if (area.prefixLimit !== undefined) assertWindowLimit("traffic.area.prefixLimit", area.prefixLimit);
  if (area.countryLimit !== undefined) assertWindowLimit("traffic.area.countryLimit", area.countryLimit);
  if (area.spend !== undefined) {
    assertPositiveInteger("traffic.area.spend.cost", area.spend.cost);
    if (area.spend.hourly !== undefined) assertPositiveInteger("traffic.area.spend.hourly", area.spend.hourly);
    if (area.spend.daily !== undefined) assertPositiveInteger("traffic.area.spend.daily", area.spend.daily);
  }
  if (area.conversion !== undefined) {
    const { windowMs, minRatio, prefixMinSends, countryMinSends } = area.conversion;
    assertPositiveInteger("traffic.area.conversion.windowMs", windowMs);
    if (!(minRatio >= 0 && minRatio <= 1)) throw new RangeError(`traffic.area.conversion.minRatio must be from 0 to 1, got ${minRatio}`);
    assertPositiveInteger("traffic.area.conversion.prefixMinSends", prefixMinSends);
    assertPositiveInteger("traffic.area.conversion.countryMinSends", countryMinSends);
  }
}

export function assertGuessOutcome(scope: string, outcome: string, streakWindowMs: number): void {
  assertScope(scope);
  if (outcome !== "wrong" && outcome !== "right") throw new RangeError(`guess outcome must be "wrong" or "right", got ${outcome}`);
  assertPositiveInteger("streakWindowMs", streakWindowMs);
}

function assertWindowLimit(name: string, limit: WindowLimit): void {
  assertPositiveInteger(`${name}.limit`, limit.limit);
  assertPositiveInteger(`${name}.windowMs`, limit.windowMs);
}

function assertTagPart(name: string, value: string): void {
  assertKeyPart(name, value);
  if (/[{}]/.test(value)) throw new RangeError(`${name} must not contain braces`);
}

/**
 * The scope is the hash tag of every key of a call; a brace inside it would end the tag early, and
 * the keys would no longer be tagged with the whole scope.
 */
export function assertScope(scope: string): void {
  assertTagPart("scope", scope);
}

export function assertRefund(scope: string, bucket: string, refund: SendRefund): void {
  assertScope(scope);
  assertBucket(bucket);
  assertNonNegativeInteger("refund.guesses", refund.guesses);
  if (refund.sendNumber !== undefined) assertPositiveInteger("refund.sendNumber", refund.sendNumber);
  if (refund.traffic !== undefined) assertTraffic(refund.traffic);
}

export function assertBucket(bucket: string): void {
  assertKeyPart("bucket", bucket);
}

export function assertIdempotency(key: string, fingerprint: string): void {
  assertKeyPart("idempotency key", key);
  if (fingerprint.length === 0) throw new RangeError("idempotency fingerprint must not be empty");
}

function assertKeyPart(name: string, value: string): void {
  if (value.length === 0) throw new RangeError(`${name} must not be empty`);
  if (value.length > maxKeyPartLength) {
    throw new RangeError(`${name} must be at most ${maxKeyPartLength} characters, got ${value.length}`);
  }
}
