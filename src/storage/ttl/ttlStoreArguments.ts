import type { StoredSecret, WindowSpec } from "./ttlStore.js";

/*
 * Both implementations check their arguments here, so a caller's mistake fails the same way on
 * either backend (a RangeError) instead of as a Redis protocol error in production only, or as a
 * secret that never expires in memory.
 */

export function assertKey(key: string): void {
  if (key.length === 0) throw new RangeError("TTL store key must not be empty");
}

export function assertPositiveInteger(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new RangeError(`${name} must be a positive integer, got ${value}`);
  }
}

export function assertInteger(name: string, value: number): void {
  if (!Number.isSafeInteger(value)) throw new RangeError(`${name} must be an integer, got ${value}`);
}

export function assertSecret(secret: StoredSecret): void {
  if (secret.hash.length === 0) throw new RangeError("secret hash must not be empty");
  assertPositiveInteger("maxAttempts", secret.maxAttempts);
}

export function assertWindow(window: WindowSpec): void {
  assertPositiveInteger("limit", window.limit);
  assertPositiveInteger("windowMs", window.windowMs);
  if (window.kind !== "fixed" && window.kind !== "sliding") {
    throw new RangeError(`window kind must be "fixed" or "sliding", got ${String(window.kind)}`);
  }
}

export function assertNonNegativeInteger(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`${name} must be a non-negative integer, got ${value}`);
  }
}
