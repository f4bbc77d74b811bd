import { createHmac, createSecretKey, hkdfSync } from "node:crypto";

/**
 * A keyed hash (HMAC-SHA-256) for one purpose. Codes are stored only as such a hash, and consumer
 * addresses appear in Redis key names only as one (the verification record itself holds the
 * consumer, which reads must return), so neither a dump nor a key listing reveals a code. Each purpose gets its own key, derived from the server key with HKDF, so a hash made for
 * one purpose means nothing for another.
 */
export type KeyedHash = (value: string) => string;

export function keyedHash(serverKey: Uint8Array, purpose: string, outputBytes = 32): KeyedHash {
  // A KeyObject, so that each hash does not import the key again.
  const key = createSecretKey(Buffer.from(hkdfSync("sha256", serverKey, Buffer.alloc(0), `onetime:${purpose}`, 32)));
  return (value) => createHmac("sha256", key).update(value, "utf8").digest().subarray(0, outputBytes).toString("base64url");
}
