import { createSecretKey, KeyObject, webcrypto } from "node:crypto";
import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from "jose";
import type { ClaimsConfig } from "../config/config.js";
import { DependencyUnavailable, Unauthenticated } from "../errors/domainError.js";
import type { Principal } from "./principal.js";

/** A token that passed verification: who it speaks for, and until when (epoch milliseconds). */
export interface VerifiedToken {
  readonly principal: Principal;
  readonly expiresAtMs: number;
}

/** Turns a bearer token into a principal, or refuses it. */
export interface TokenVerifier {
  verify(token: string): Promise<VerifiedToken>;
}

type KeySource = KeyObject | JWTVerifyGetKey;

/**
 * The HS256 shared secret as a key object (signing and verifying take it as is).
 */
export function secretKey(secret: string): KeyObject {
  return createSecretKey(Buffer.from(secret, "utf8"));
}

export function jwksKeySource(url: URL): JWTVerifyGetKey {
  // jose caches the key set and refetches on an unknown `kid`, so key rotation needs no restart.
  return createRemoteJWKSet(url, { timeoutDuration: 5_000, cooldownDuration: 30_000 });
}

export interface TokenVerifierOptions {
  /**
   * The key is the generated development secret: a refusal then says what a developer holding a
   * stale printed token should do. Default false.
   */
  readonly development?: boolean;
}

export function createTokenVerifier(keys: KeySource, claims: ClaimsConfig, verifierOptions: TokenVerifierOptions = {}): TokenVerifier {
  const development = verifierOptions.development === true;
  const options = {
    issuer: claims.issuer,
    audience: claims.audience,
    // Pinning the algorithms rules out `alg: none` and HS/RS confusion.
    algorithms: keys instanceof KeyObject ? ["HS256"] : ["RS256", "PS256", "ES256", "EdDSA"],
    requiredClaims: ["sub", "exp"],
    clockTolerance: 5,
    // jose then requires `iat` and refuses a token issued longer ago, whatever its `exp` says.
    ...(claims.maxTokenAgeSeconds === undefined ? {} : { maxTokenAge: claims.maxTokenAgeSeconds }),
  };
  // jose works on WebCrypto keys and converts any other key on every call, which was a fifth of
  // a bare RPC's CPU time: convert the shared secret once.
  const key: Promise<webcrypto.CryptoKey> | JWTVerifyGetKey =
    keys instanceof KeyObject
      ? webcrypto.subtle.importKey("raw", keys.export(), { name: "HMAC", hash: "SHA-256" }, false, ["verify"])
      : keys;
  return {
    async verify(token) {
      let payload: JWTPayload;
      try {
        // Two calls because jose's overloads take a key or a key getter, not their union.
        payload = typeof key === "function" ? (await jwtVerify(token, key, options)).payload : (await jwtVerify(token, await key, options)).payload;
      } catch (error) {
        throw (development ? developmentRefusal(error) : undefined) ?? refusal(error, claims);
      }
      // requiredClaims guarantees `exp`.
      return { principal: principalOf(payload, claims), expiresAtMs: payload.exp! * 1000 };
    },
  };
}

function refusal(error: unknown, claims: ClaimsConfig): Unauthenticated | DependencyUnavailable {
  // The key set could not be fetched: the caller's token may be fine, so say "try again" rather
  // than "your credentials are bad".
  if (error instanceof errors.JWKSTimeout || (error instanceof TypeError && /fetch/i.test(error.message))) {
    return new DependencyUnavailable("the JWKS endpoint", { cause: error });
  }
  if (error instanceof errors.JWTExpired) {
    // A token within its `exp` but issued too long ago fails jose's age check on `iat`.
    if (error.claim === "iat") return new Unauthenticated("TOKEN_EXPIRED", "bearer token is older than this server accepts (AUTH_MAX_TOKEN_AGE_SECONDS, by its iat)");
    return new Unauthenticated("TOKEN_EXPIRED", "bearer token has expired");
  }
  if (error instanceof errors.JWTClaimValidationFailed) {
    // jose's message says which check failed (e.g. unexpected "iss" claim value); the caller
    // needs to know whether to add a claim or fix one.
    const what = error.reason === "missing" ? "is missing" : "is not acceptable";
    // Issuer and audience are not secret, and a token minted for another environment differs in
    // exactly these: naming the expected value (and its setting) ends the guessing.
    const expected =
      error.claim === "iss" ? `: this server expects "${claims.issuer}" (AUTH_ISSUER)` : error.claim === "aud" ? `: this server expects "${claims.audience}" (AUTH_AUDIENCE)` : "";
    return new Unauthenticated("TOKEN_CLAIM_INVALID", `bearer token claim "${error.claim}" ${what}${expected}`);
  }
  if (error instanceof errors.JOSEError) return new Unauthenticated("TOKEN_INVALID", "bearer token is not valid");
  throw error;
}

/**
 * In development mode the tokens in use are the printed ones, and the two ways they go stale are
 * known: printed by a start with another secret (another data directory, an in-memory run, a
 * removed secret file), or older than their 30 days.
 */
function developmentRefusal(error: unknown): Unauthenticated | undefined {
  if (error instanceof errors.JWSSignatureVerificationFailed) {
    return new Unauthenticated(
      "TOKEN_INVALID",
      "bearer token was signed by another development secret (printed by a start with another data directory, or an in-memory one): paste the export lines this start printed",
    );
  }
  if (error instanceof errors.JWTExpired) {
    return new Unauthenticated("TOKEN_EXPIRED", "bearer token has expired (development tokens last 30 days): restart and paste the export lines it prints");
  }
  return undefined;
}

function principalOf(payload: JWTPayload, claims: ClaimsConfig): Principal {
  // The type says string, but a token may carry anything there: a number or an array would be
  // taken for a user id, an object would fail later as a server error.
  const subject: unknown = payload.sub;
  if (typeof subject !== "string" || subject.trim().length === 0) {
    throw new Unauthenticated("TOKEN_CLAIM_INVALID", 'bearer token claim "sub" must be a non-empty string');
  }
  const rolesClaim = payload[claims.rolesClaim];
  const roles = typeof rolesClaim === "string" ? rolesClaim.split(" ") : Array.isArray(rolesClaim) ? rolesClaim : [];
  if (roles.includes(claims.adminRole)) return { kind: "admin", subject };
  if (roles.includes(claims.serviceRole)) return { kind: "service", subject };
  return { kind: "user", subject };
}
