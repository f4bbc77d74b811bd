import { createHash } from "node:crypto";
import { generateAccountToken } from "./accountToken.js";

/**
 * The two halves of a device pairing, as RFC 8628 has a `device_code` the device keeps and a
 * `user_code` it shows: the device secret, for redeeming and watching, and the auth token made
 * from it, for showing and attaching. The token is the secret's SHA-256, as PKCE makes its S256
 * challenge from its verifier (RFC 7636 section 4.2), so whoever photographs the token cannot
 * compute the secret (256 random bits behind a one-way function), and a secret, once hashed,
 * names its token: the store keeps only the token's keyed hash and needs nothing more.
 */
export interface Pairing {
  readonly deviceSecret: string;
  readonly token: string;
}

export function newPairing(): Pairing {
  const deviceSecret = generateAccountToken();
  return { deviceSecret, token: authTokenOf(deviceSecret) };
}

/** The auth token a device secret was shown as: 43 URL-safe characters, like every account token. */
export function authTokenOf(deviceSecret: string): string {
  return createHash("sha256").update(deviceSecret, "utf8").digest("base64url");
}
