import type { StoredSecret } from "../domain/secrets/pendingSecrets.js";
import type { QueuedMessage } from "../delivery/queuedMessage.js";

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

export function assertSecret(secret: StoredSecret): void {
  if (secret.hash.length === 0) throw new RangeError("secret hash must not be empty");
  assertPositiveInteger("maxAttempts", secret.maxAttempts);
}

export function assertMessage(message: QueuedMessage): void {
  if (message.id.length === 0) throw new RangeError("message id must not be empty");
  if (message.sealedPayload.length === 0) throw new RangeError("message payload must not be empty");
  assertPositiveInteger("message.maxAttempts", message.maxAttempts);
}
