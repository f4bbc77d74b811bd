/**
 * Wakes whoever waits on an auth token (WatchAuthToken) when it changes, on every instance: Redis
 * pub/sub on the real backend, an in-process registry on the embedded one. A signal carries only
 * the token's keyed hash and means "read it again": the store stays the source of truth, so a lost
 * or forged signal can delay a watcher, never tell it something false.
 */
export interface AuthTokenSignals {
  /** Tells every instance the token changed. One round trip on Redis (PUBLISH). */
  notify(tokenHash: string): Promise<void>;
  /**
   * Calls `listener` whenever the token may have changed: a notify for it anywhere, or a
   * reconnect after which signals may have been missed. Returns the unsubscribe.
   */
  listen(tokenHash: string, listener: () => void): () => void;
  close(): Promise<void>;
}
