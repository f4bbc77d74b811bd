/** A latch over a listener: a signal that arrives while nobody waits is kept for the next wait. */
export interface SignalLatch<C> {
  /**
   * Resolves with the next signal's payload (or one already received), "timeout" once `timeoutMs`
   * passed, or "aborted" when `abort` fires.
   */
  wait(timeoutMs: number, abort: AbortSignal): Promise<{ readonly payload: C } | "timeout" | "aborted">;
  /** Stops listening. */
  close(): void;
}

export function nextSignal<C>(subscribe: (listener: (payload: C) => void) => () => void): SignalLatch<C> {
  let kept: { readonly payload: C } | undefined;
  let wake: ((signal: { readonly payload: C }) => void) | undefined;
  const unsubscribe = subscribe((payload) => {
    if (wake === undefined) kept = { payload };
    else wake({ payload });
  });
  return {
    wait(timeoutMs, abort) {
      if (kept !== undefined) {
        const signal = kept;
        kept = undefined;
        return Promise.resolve(signal);
      }
      if (abort.aborted) return Promise.resolve("aborted");
      return new Promise((resolve) => {
        const finish = (outcome: { readonly payload: C } | "timeout" | "aborted") => {
          clearTimeout(timer);
          abort.removeEventListener("abort", onAbort);
          wake = undefined;
          resolve(outcome);
        };
        const onAbort = () => finish("aborted");
        // setTimeout's delay is a 32-bit count of milliseconds; tokens live at most a day.
        const timer = setTimeout(() => finish("timeout"), Math.max(0, Math.min(timeoutMs, 2 ** 31 - 1)));
        abort.addEventListener("abort", onAbort, { once: true });
        wake = finish;
      });
    },
    close: unsubscribe,
  };
}
