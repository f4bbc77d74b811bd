import type { AuthTokenSignals } from "../../domain/accountTokens/authTokenSignals.js";

/** Listeners per token hash, for the signal implementations to dispatch to. */
export class TokenListeners {
  readonly #listeners = new Map<string, Set<() => void>>();

  add(tokenHash: string, listener: () => void): () => void {
    let set = this.#listeners.get(tokenHash);
    if (set === undefined) this.#listeners.set(tokenHash, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.#listeners.delete(tokenHash);
    };
  }

  wake(tokenHash: string): void {
    for (const listener of this.#listeners.get(tokenHash) ?? []) listener();
  }

  wakeAll(): void {
    for (const set of this.#listeners.values()) for (const listener of set) listener();
  }
}

/** The embedded backend's signals: one process, so a map of listeners is every instance. */
export class MemoryAuthTokenSignals implements AuthTokenSignals {
  readonly #listeners = new TokenListeners();

  async notify(tokenHash: string): Promise<void> {
    this.#listeners.wake(tokenHash);
  }

  listen(tokenHash: string, listener: () => void): () => void {
    return this.#listeners.add(tokenHash, listener);
  }

  async close(): Promise<void> {}
}
