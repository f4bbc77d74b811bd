import type { AuthTokenChange, AuthTokenSignals } from "../../domain/accountTokens/authTokenSignals.js";

type Listener = (change: AuthTokenChange | undefined) => void;

/** Listeners per token hash, for the signal implementations to dispatch to. */
export class TokenListeners {
  readonly #listeners = new Map<string, Set<Listener>>();

  add(tokenHash: string, listener: Listener): () => void {
    let set = this.#listeners.get(tokenHash);
    if (set === undefined) this.#listeners.set(tokenHash, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.#listeners.delete(tokenHash);
    };
  }

  wake(tokenHash: string, change: AuthTokenChange): void {
    for (const listener of this.#listeners.get(tokenHash) ?? []) listener(change);
  }

  /** Every listener, told that something may have changed. */
  wakeAll(): void {
    for (const set of this.#listeners.values()) for (const listener of set) listener(undefined);
  }
}

/** The embedded backend's signals: one process, so a map of listeners is every instance. */
export class MemoryAuthTokenSignals implements AuthTokenSignals {
  readonly #listeners = new TokenListeners();

  async notify(tokenHash: string, change: AuthTokenChange): Promise<void> {
    this.#listeners.wake(tokenHash, change);
  }

  listen(tokenHash: string, listener: Listener): () => void {
    return this.#listeners.add(tokenHash, listener);
  }

  async close(): Promise<void> {}
}
