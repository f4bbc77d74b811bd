import type { SendRefund, SendRequest } from "../domain/secrets/sendLimits.js";
import { assertNonNegativeInteger, assertPositiveInteger } from "./storeArguments.js";

/*
 * Both SendLimits implementations check their arguments here, so a caller's mistake fails the same way on
 * either backend (a RangeError) rather than as a Redis error in production only.
 */

/** Longest scope, bucket or idempotency key: each becomes part of a Redis key. */
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
}

/**
 * The scope is the hash tag of every key of a call; a brace inside it would end the tag early, and
 * the keys would no longer be tagged with the whole scope.
 */
export function assertScope(scope: string): void {
  assertKeyPart("scope", scope);
  if (/[{}]/.test(scope)) throw new RangeError("scope must not contain braces");
}

export function assertRefund(scope: string, bucket: string, refund: SendRefund): void {
  assertScope(scope);
  assertBucket(bucket);
  assertNonNegativeInteger("refund.guesses", refund.guesses);
  if (refund.sendNumber !== undefined) assertPositiveInteger("refund.sendNumber", refund.sendNumber);
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
