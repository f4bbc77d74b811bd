import { createPrivateKey, type KeyObject } from "node:crypto";
import { SignJWT } from "jose";
import { exchangeWithProvider, parseJson, parseProviderUrl } from "../http/providerRequest.js";

/** The fields of a Google service account key file (the JSON downloaded from the console) we use. */
export interface ServiceAccountKey {
  readonly client_email: string;
  /** RSA private key, PKCS8 PEM. */
  readonly private_key: string;
  readonly private_key_id?: string;
  readonly token_uri: string;
  readonly project_id: string;
}

export interface GoogleAccessTokenOptions {
  /** The key file's text, or its parsed contents. */
  readonly serviceAccount: string | ServiceAccountKey;
  /** Where to trade the assertion for a token, also its `aud`. Default: the key file's `token_uri`. */
  readonly tokenUri?: string;
  /** How long one token request may take. */
  readonly timeoutMs: number;
  /** Clock in epoch milliseconds. Default `Date.now`. */
  readonly now?: () => number;
}

export type AccessTokenResult = { readonly ok: true; readonly token: string } | { readonly ok: false; readonly reason: string };

/**
 * An OAuth2 access token for FCM, from the service account's signed JWT assertion (RFC 7523),
 * fetched once and reused until shortly before it expires. Concurrent sends share one request.
 */
export interface GoogleAccessToken {
  current(): Promise<AccessTokenResult>;
  /** The provider refused `token`: fetch a new one next time (once, however many sends saw it). */
  expire(token: string): void;
}

export const firebaseMessagingScope = "https://www.googleapis.com/auth/firebase.messaging";
const assertionLifetimeSeconds = 3600;
/** Refresh this long before Google's stated expiry, so a token never expires in flight. */
const refreshMarginMs = 60_000;

export function parseServiceAccount(value: string | ServiceAccountKey): ServiceAccountKey {
  const parsed: unknown = typeof value === "string" ? parseJson(value) : value;
  if (typeof parsed !== "object" || parsed === null) throw new Error("fcm.serviceAccount is not a JSON object");
  const fields = parsed as Record<string, unknown>;
  for (const name of ["client_email", "private_key", "token_uri", "project_id"] as const) {
    if (typeof fields[name] !== "string" || fields[name] === "") throw new Error(`fcm.serviceAccount has no ${name}`);
  }
  return parsed as ServiceAccountKey;
}

export function createGoogleAccessToken(options: GoogleAccessTokenOptions): GoogleAccessToken {
  const account = parseServiceAccount(options.serviceAccount);
  const tokenUri = parseProviderUrl(options.tokenUri ?? account.token_uri, "fcm.tokenUri");
  const key = loadSigningKey(account.private_key);
  const now = options.now ?? Date.now;
  // Shared token requests must not die with the send that started them; each send waits with its own signal.
  const detached = new AbortController().signal;
  let cached: { readonly result: Promise<AccessTokenResult>; refreshAt: number; token?: string } | undefined;

  const fetchToken = async (startedAt: number): Promise<{ result: AccessTokenResult; lifetimeMs: number }> => {
    const issuedAt = Math.floor(startedAt / 1000);
    const assertion = await new SignJWT({ scope: firebaseMessagingScope })
      .setProtectedHeader(account.private_key_id === undefined ? { alg: "RS256", typ: "JWT" } : { alg: "RS256", typ: "JWT", kid: account.private_key_id })
      .setIssuer(account.client_email)
      .setAudience(tokenUri.href)
      .setIssuedAt(issuedAt)
      .setExpirationTime(issuedAt + assertionLifetimeSeconds)
      .sign(key);
    const body = new URLSearchParams({ grant_type: "urn:ietf:params:oauth:grant-type:jwt-bearer", assertion }).toString();
    const headers = new Headers({ "content-type": "application/x-www-form-urlencoded", accept: "application/json" });
    const exchange = await exchangeWithProvider(tokenUri, { method: "POST", headers, body }, detached, options.timeoutMs);
    if (!exchange.answered) return { result: { ok: false, reason: `Google token endpoint ${exchange.outcome.reason}` }, lifetimeMs: 0 };
    const answer = parseJson(exchange.answer.body);
    const fields = typeof answer === "object" && answer !== null ? (answer as Record<string, unknown>) : {};
    if (exchange.answer.status !== 200) {
      const error = typeof fields.error === "string" && /^[a-z_]{1,64}$/.test(fields.error) ? ` ${fields.error}` : "";
      return { result: { ok: false, reason: `Google token endpoint ${exchange.answer.status}${error}` }, lifetimeMs: 0 };
    }
    if (typeof fields.access_token !== "string" || fields.access_token === "") {
      return { result: { ok: false, reason: "Google token endpoint answered without an access_token" }, lifetimeMs: 0 };
    }
    const expiresIn = typeof fields.expires_in === "number" && fields.expires_in > 0 ? fields.expires_in : 3600;
    return { result: { ok: true, token: fields.access_token }, lifetimeMs: expiresIn * 1000 };
  };

  return {
    current() {
      const at = now();
      if (cached === undefined || at >= cached.refreshAt) {
        const pending = fetchToken(at);
        const entry: { result: Promise<AccessTokenResult>; refreshAt: number; token?: string } = {
          result: pending.then(({ result }) => result),
          // Until the answer arrives, every caller shares this request.
          refreshAt: Number.POSITIVE_INFINITY,
        };
        cached = entry;
        pending.then(
          ({ result, lifetimeMs }) => {
            if (!result.ok) {
              if (cached === entry) cached = undefined;
              return;
            }
            entry.token = result.token;
            entry.refreshAt = at + lifetimeMs - Math.min(refreshMarginMs, lifetimeMs / 2);
          },
          () => {
            if (cached === entry) cached = undefined;
          },
        );
      }
      return cached.result;
    },
    expire(token) {
      if (cached?.token === token) cached = undefined;
    },
  };
}

function loadSigningKey(pem: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch {
    // The parser's message may quote the key; say only what is wrong.
    throw new Error("fcm.serviceAccount.private_key is not a PEM private key");
  }
  if (key.asymmetricKeyType !== "rsa") throw new Error("fcm.serviceAccount.private_key must be an RSA (RS256) key");
  return key;
}
