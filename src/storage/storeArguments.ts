import type { StoredSecret } from "../domain/secrets/pendingSecrets.js";
import type { QueuedMessage } from "../domain/messages/messageDelivery.js";

/*
 * Every implementation checks its arguments here, so a caller's mistake fails the same way on
 * either backend (a RangeError) instead of as a Redis protocol error in production only, or as a
 * secret that never expires in memory.
 */

export function assertKey(key: string): void {
  if (key.length === 0) throw new RangeError("secret key must not be empty");
}

export function assertPositiveInteger(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new RangeError(`${name} must be a positive integer, got ${value}`);
  }
}

export function assertNonNegativeInteger(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`${name} must be a non-negative integer, got ${value}`);
  }
}

/**
 * The longest time to live a secret may have: 7 days, the most OUT_OF_BAND_CODE_MAX_TTL_SECONDS
 * allows. The Redis queue trims stream entries older than this (their secrets have expired), which
 * keeps each stream bounded even when no relay runs; so both backends refuse longer.
 */
export const longestSecretTtlMs = 7 * 86_400_000;

export function assertTtl(ttlMs: number): void {
  assertPositiveInteger("ttlMs", ttlMs);
  if (ttlMs > longestSecretTtlMs) throw new RangeError(`ttlMs must be at most ${longestSecretTtlMs}, got ${ttlMs}`);
}

export function assertSecret(secret: StoredSecret): void {
  if (secret.hash.length === 0) throw new RangeError("secret hash must not be empty");
  assertPositiveInteger("maxAttempts", secret.maxAttempts);
}

export function assertMessage(message: QueuedMessage): void {
  if (message.id.length === 0) throw new RangeError("message id must not be empty");
  if (message.sealedPayload.length === 0) throw new RangeError("message payload must not be empty");
  assertPositiveInteger("message.maxAttempts", message.maxAttempts);
}
