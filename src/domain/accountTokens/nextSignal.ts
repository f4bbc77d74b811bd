/** A latch over a listener: signals that arrive while nobody waits are kept until the next wait. */
export interface SignalLatch {
  /** Resolves on the next signal (or one already received), when `timeoutMs` passes, or when `abort` fires. */
  wait(timeoutMs: number, abort: AbortSignal): Promise<"signal" | "timeout" | "aborted">;
  /** Stops listening. */
  close(): void;
}

export function nextSignal(subscribe: (listener: () => void) => () => void): SignalLatch {
  let pending = false;
  let wake: (() => void) | undefined;
  const unsubscribe = subscribe(() => {
    pending = true;
    wake?.();
  });
  return {
    wait(timeoutMs, abort) {
      if (pending) {
        pending = false;
        return Promise.resolve("signal");
      }
      if (abort.aborted) return Promise.resolve("aborted");
      return new Promise((resolve) => {
        const finish = (outcome: "signal" | "timeout" | "aborted") => {
          clearTimeout(timer);
          abort.removeEventListener("abort", onAbort);
          wake = undefined;
          pending = false;
          resolve(outcome);
        };
        const onAbort = () => finish("aborted");
        // setTimeout's delay is a 32-bit count of milliseconds; tokens live at most a day.
        const timer = setTimeout(() => finish("timeout"), Math.max(0, Math.min(timeoutMs, 2 ** 31 - 1)));
        abort.addEventListener("abort", onAbort, { once: true });
        wake = () => finish("signal");
      });
    },
    close: unsubscribe,
  };
}
