import type { AuthConfig } from "../config/config.js";
import { developmentCredentials, type DevelopmentCredentials } from "./developmentCredentials.js";
import { createTokenVerifier, jwksKeySource, secretKey, type TokenVerifier } from "./tokenVerifier.js";
import { cachingTokenVerifier } from "./verifiedTokenCache.js";

// Bounds how long a token whose signing key left the JWKS (or was rotated away) keeps working.
const verifiedTokenMaxAgeMs = 60_000;

export interface Auth {
  readonly verifier: TokenVerifier;
  /** Only in development mode: tokens to print for the developer. */
  readonly development?: DevelopmentCredentials;
}

/** `dataDir`: the embedded PGlite directory, beside which the development secret is kept. */
export async function setUpAuth(config: AuthConfig, dataDir?: string): Promise<Auth> {
  // On the wall clock, as jose's own `exp` check is: the cache must never outlast what it checked.
  const remembering = (verifier: TokenVerifier): TokenVerifier =>
    config.tokenCacheSize === 0 ? verifier : cachingTokenVerifier(verifier, { maxEntries: config.tokenCacheSize, maxAgeMs: verifiedTokenMaxAgeMs });
  switch (config.mode) {
    case "secret":
      return { verifier: remembering(createTokenVerifier(secretKey(config.secret), config.claims)) };
    case "jwks":
      return { verifier: remembering(createTokenVerifier(jwksKeySource(config.jwksUrl), config.claims)) };
    case "development": {
      const development = await developmentCredentials(config.claims, dataDir);
      return { verifier: remembering(createTokenVerifier(secretKey(development.secret), config.claims, { development: true })), development };
    }
  }
}
