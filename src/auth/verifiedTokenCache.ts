import { LRUCache } from "lru-cache";
import type { TokenVerifier, VerifiedToken } from "./tokenVerifier.js";

export interface VerifiedTokenCacheOptions {
  /** Tokens remembered at most; the least recently used goes first. */
  readonly maxEntries: number;
  /** How long a verification is trusted without re-checking the signature, at most. */
  readonly maxAgeMs: number;
  readonly now?: () => number;
}

/**
 * Remembers tokens that passed verification, so a backend that sends the same service token on
 * every call pays for the signature check once rather than on every call (it was a tenth of the
 * server's CPU time on the verification round trip). Keyed by the whole token, so only the exact
 * bytes that were verified hit; an entry ends at the token's own `exp` or after `maxAgeMs`
 * (which bounds how long a key removed from the JWKS keeps working), whichever is first.
 * Refusals are never remembered: they go through the full check every time.
 */
export function cachingTokenVerifier(inner: TokenVerifier, options: VerifiedTokenCacheOptions): TokenVerifier {
  const now = options.now ?? Date.now;
  const cache = new LRUCache<string, { readonly verified: VerifiedToken; readonly trustedUntilMs: number }>({ max: options.maxEntries });
  return {
    async verify(token) {
      const remembered = cache.get(token);
      // Checked here rather than by the cache's own TTL so that the injected clock rules.
      if (remembered !== undefined) {
        if (now() < remembered.trustedUntilMs) return remembered.verified;
        cache.delete(token);
      }
      const verified = await inner.verify(token);
      const checkedAt = now();
      const trustedUntilMs = Math.min(verified.expiresAtMs, checkedAt + options.maxAgeMs);
      if (trustedUntilMs > checkedAt) cache.set(token, { verified, trustedUntilMs });
      return verified;
    },
  };
}
