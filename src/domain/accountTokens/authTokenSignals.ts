/** What a signal says happened to a token: an account attached it, or an admin revoked it. */
export const AUTH_TOKEN_CHANGES = ["attached", "revoked"] as const;

export type AuthTokenChange = (typeof AUTH_TOKEN_CHANGES)[number];

export function isAuthTokenChange(text: string | undefined): text is AuthTokenChange {
  return (AUTH_TOKEN_CHANGES as readonly (string | undefined)[]).includes(text);
}

/**
 * Wakes whoever waits on an auth token (WatchAuthToken) when it changes, on every instance: Redis
 * pub/sub on the real backend, an in-process registry on the embedded one. A signal carries only
 * the token's keyed hash and what happened, so a woken watcher needs no read. A watch only advises
 * its holder (RedeemAuthToken, which reads the store, decides), so a forged signal can mislead a
 * watcher into redeeming early (and hearing "pending") or into giving up on a token that still
 * works, never into anything else; a lost one delays it until its token expires.
 */
export interface AuthTokenSignals {
  /** Tells every instance the token changed. One round trip on Redis (PUBLISH). */
  notify(tokenHash: string, change: AuthTokenChange): Promise<void>;
  /**
   * Calls `listener` with the change whenever notify(tokenHash) runs anywhere, and with undefined
   * after a reconnect, when signals may have been missed. Returns the unsubscribe.
   */
  listen(tokenHash: string, listener: (change: AuthTokenChange | undefined) => void): () => void;
  close(): Promise<void>;
}
