import { randomBytes } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { AuthTokenChange, AuthTokenSignals } from "../../src/domain/accountTokens/authTokenSignals.js";

/** What a backend's test file hands the contract. */
export interface AuthTokenSignalsFixture {
  /** Signals of one instance, listening already. */
  readonly signals: AuthTokenSignals;
  /**
   * Signals of another instance of the same deployment (its own connections, where the backend
   * has any). The in-process one returns the same signals: one process is every instance.
   */
  peer(): Promise<AuthTokenSignals>;
  /** Releases everything the fixture opened (the signals it handed out included); called after each test. */
  close(): Promise<void>;
}

type Heard = Array<AuthTokenChange | undefined>;

/**
 * What every implementation of the auth token signals must do, so that WatchAuthToken behaves the
 * same on the embedded backend, one Redis and Redis Cluster. A listener that must hear nothing is
 * checked without sleeping: a later signal on the same instance, to a token another listener
 * watches, is heard after it (Redis delivers one publisher's messages in order), so once the later
 * one arrived the earlier one had its chance.
 */
export function describeAuthTokenSignalsContract(name: string, makeFixture: () => Promise<AuthTokenSignalsFixture>): void {
  describe(`${name} (auth token signals contract)`, () => {
    let fixture: AuthTokenSignalsFixture;
    const token = () => randomBytes(16).toString("base64url");

    beforeEach(async () => {
      fixture = await makeFixture();
    });
    afterEach(async () => {
      await fixture.close();
    });

    /** Records what `signals` says about `tokenHash`; `stop` unsubscribes. */
    function listen(signals: AuthTokenSignals, tokenHash: string): { heard: Heard; stop: () => void } {
      const heard: Heard = [];
      const stop = signals.listen(tokenHash, (change) => heard.push(change));
      return { heard, stop };
    }

    /**
     * Notifies, through `from`, a token only a marker on `signals` listens to, and waits until the
     * marker heard it: whatever was notified through `from` before has reached `signals` by then.
     */
    async function settle(from: AuthTokenSignals, signals: AuthTokenSignals): Promise<void> {
      const hash = token();
      const marker = listen(signals, hash);
      try {
        await from.notify(hash, "revoked");
        await vi.waitFor(() => expect(marker.heard).toEqual(["revoked"]), { timeout: 5_000, interval: 5 });
      } finally {
        marker.stop();
      }
    }

    it("wakes a listener with the change notified for its token, in the order notified", async () => {
      const hash = token();
      const watcher = listen(fixture.signals, hash);
      // Many, one after the other: on a Cluster, messages sent through different nodes could overtake each other.
      const changes = Array.from({ length: 40 }, (_, index): AuthTokenChange => (index % 2 === 0 ? "attached" : "revoked"));
      for (const change of changes) await fixture.signals.notify(hash, change);
      await vi.waitFor(() => expect(watcher.heard).toEqual(changes), { timeout: 5_000, interval: 5 });
      watcher.stop();
    });

    it("wakes every listener of the token on every instance, whichever instance notified", async () => {
      const other = await fixture.peer();
      const hash = token();
      const here = [listen(fixture.signals, hash), listen(fixture.signals, hash)];
      const there = listen(other, hash);
      await other.notify(hash, "attached");
      await vi.waitFor(() => expect([...here, there].map((watcher) => watcher.heard)).toEqual([["attached"], ["attached"], ["attached"]]), { timeout: 5_000, interval: 5 });
    });

    it("wakes nobody listening to another token, whichever instance notified", async () => {
      const other = await fixture.peer();
      const [mine, theirs] = [token(), token()];
      const watcher = listen(fixture.signals, mine);
      await fixture.signals.notify(theirs, "attached");
      await other.notify(theirs, "revoked");
      await settle(fixture.signals, fixture.signals);
      await settle(other, fixture.signals);
      expect(watcher.heard).toEqual([]);
    });

    it("wakes a listener no more once it unsubscribed, and the token's other listeners still", async () => {
      const hash = token();
      const leaving = listen(fixture.signals, hash);
      const staying = listen(fixture.signals, hash);
      leaving.stop();
      await fixture.signals.notify(hash, "attached");
      await vi.waitFor(() => expect(staying.heard).toEqual(["attached"]), { timeout: 5_000, interval: 5 });
      expect(leaving.heard).toEqual([]);
      // The last listener of a token leaving frees it: a later signal finds nobody, and no error.
      staying.stop();
      await fixture.signals.notify(hash, "revoked");
      await settle(fixture.signals, fixture.signals);
      expect(staying.heard).toEqual(["attached"]);
    });

    it("takes a notify with nobody listening anywhere", async () => {
      await expect(fixture.signals.notify(token(), "revoked")).resolves.toBeUndefined();
    });
  });
}
