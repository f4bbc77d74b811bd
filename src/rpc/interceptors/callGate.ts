import type { Interceptor } from "@connectrpc/connect";
import { ShuttingDown } from "../../errors/domainError.js";
import { observeStream } from "./streams.js";

/**
 * Counts calls in flight and, once closed, refuses new ones, so shutdown can wait for what was
 * already accepted and nothing more. A streaming call counts until its stream ends.
 */
export class CallGate {
  private inFlight = 0;
  private closed = false;
  private readonly waiters = new Set<() => void>();

  /** @param exempt services still served while closed (health, so probes read NOT_SERVING). */
  constructor(private readonly exempt: ReadonlySet<string> = new Set()) {}

  readonly interceptor: Interceptor = (next) => async (request) => {
    if (this.closed && !this.exempt.has(request.service.typeName)) throw new ShuttingDown();
    this.inFlight++;
    let handedOff = false;
    try {
      const response = await next(request);
      if (!response.stream) return response;
      handedOff = true;
      return { ...response, message: observeStream(response.message, () => this.release()) };
    } finally {
      if (!handedOff) this.release();
    }
  };

  get active(): number {
    return this.inFlight;
  }

  close(): void {
    this.closed = true;
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
