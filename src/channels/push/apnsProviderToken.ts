import { createPrivateKey, type KeyObject } from "node:crypto";
import { SignJWT } from "jose";

export interface ApnsProviderTokenOptions {
  /** The .p8 key's id, sent as the JWT's `kid`. */
  readonly keyId: string;
  /** The Apple developer team id, sent as the JWT's `iss`. */
  readonly teamId: string;
  /** The .p8 key as PEM (PKCS8, P-256). */
  readonly privateKey: string;
  /** Clock in epoch milliseconds. Default `Date.now`. */
  readonly now?: () => number;
}

/** APNs accepts a token for up to 60 minutes and refuses refreshes more often than every 20. */
export const providerTokenLifetimeMs = 50 * 60 * 1000;

/** The JWT every APNs request carries, signed once and reused until it is 50 minutes old. */
export interface ApnsProviderToken {
  current(): Promise<string>;
  /**
   * APNs answered ExpiredProviderToken for `token`: sign a new one on the next `current()`. Only
   * the token still cached is dropped, so many sends failing on one token refresh it once.
   */
  expire(token: string): void;
}

export function createApnsProviderToken(options: ApnsProviderTokenOptions): ApnsProviderToken {
  if (options.keyId === "") throw new Error("apns.keyId is required");
  if (options.teamId === "") throw new Error("apns.teamId is required");
  const key = loadSigningKey(options.privateKey);
  const now = options.now ?? Date.now;
  let cached: { readonly token: Promise<string>; readonly issuedAt: number; settled?: string } | undefined;

  const sign = (issuedAt: number): Promise<string> =>
    new SignJWT({})
      .setProtectedHeader({ alg: "ES256", kid: options.keyId })
      .setIssuer(options.teamId)
      .setIssuedAt(Math.floor(issuedAt / 1000))
      .sign(key);

  return {
    current() {
      const at = now();
      if (cached === undefined || at - cached.issuedAt >= providerTokenLifetimeMs || at < cached.issuedAt) {
        const entry: { token: Promise<string>; issuedAt: number; settled?: string } = { token: sign(at), issuedAt: at };
        cached = entry;
        entry.token.then(
          (token) => (entry.settled = token),
          () => {
            if (cached === entry) cached = undefined;
          },
        );
      }
      return cached.token;
    },
    expire(token) {
      if (cached?.settled === token) cached = undefined;
    },
  };
}

function loadSigningKey(pem: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch {
    // The parser's message may quote the key; say only what is wrong.
    throw new Error("apns.privateKey is not a PEM private key");
  }
  if (key.asymmetricKeyType !== "ec" || key.asymmetricKeyDetails?.namedCurve !== "prime256v1") {
    throw new Error("apns.privateKey must be a P-256 (ES256) key");
  }
  return key;
}
