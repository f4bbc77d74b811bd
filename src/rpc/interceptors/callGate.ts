import { setMaxListeners } from "node:events";
import type { Interceptor } from "@connectrpc/connect";
import { ShuttingDown } from "../../errors/domainError.js";
import { endingOn, observeStream } from "./streams.js";

/**
 * Counts calls in flight and, once closed, refuses new ones, so shutdown can wait for what was
 * already accepted and nothing more. A streaming call counts until its stream ends; closing ends
 * every open stream (Health/Watch, WatchAuthToken, any other) with `unavailable`
 * (SHUTTING_DOWN), so its client reconnects to another instance rather than hold the drain until
 * SHUTDOWN_TIMEOUT_MS cuts it off.
 */
export class CallGate {
  private inFlight = 0;
  private readonly draining = new AbortController();
  private readonly waiters = new Set<() => void>();

  /** @param exempt services still served while closed (health, so probes read NOT_SERVING). */
  constructor(private readonly exempt: ReadonlySet<string> = new Set()) {
    // Every open stream listens: thousands of watches are no leak.
    setMaxListeners(0, this.draining.signal);
  }

  readonly interceptor: Interceptor = (next) => async (request) => {
    if (this.draining.signal.aborted && !this.exempt.has(request.service.typeName)) throw new ShuttingDown();
    this.inFlight++;
    let handedOff = false;
    try {
      const response = await next(request);
      if (!response.stream) return response;
      handedOff = true;
      return { ...response, message: observeStream(endingOn(response.message, this.draining.signal), () => this.release()) };
    } finally {
      if (!handedOff) this.release();
    }
  };

  get active(): number {
    return this.inFlight;
  }

  /** Refuses new calls (but the exempt services') and ends every open stream. */
  close(): void {
    if (!this.draining.signal.aborted) this.draining.abort(new ShuttingDown());
  }

  /** Resolves true when no call is in flight, or false if `timeoutMs` passes first. */
  idle(timeoutMs: number): Promise<boolean> {
    if (this.inFlight === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (drained: boolean) => {
        clearTimeout(timer);
        this.waiters.delete(onIdle);
        resolve(drained);
      };
      const onIdle = () => done(true);
      const timer = setTimeout(() => done(false), timeoutMs);
      this.waiters.add(onIdle);
    });
  }

  private release(): void {
    this.inFlight--;
    if (this.inFlight === 0) for (const waiter of [...this.waiters]) waiter();
  }
}
