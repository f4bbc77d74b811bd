/**
 * Wraps a response stream so `onEnd` runs exactly once however the stream ends: drained, failed,
 * or abandoned by the caller (even before its first message, where an async generator's
 * `finally` would never run). `mapError` may replace an error thrown while producing it.
 */
export function observeStream<T>(
  source: AsyncIterable<T>,
  onEnd: (error?: unknown) => void,
  mapError: (error: unknown) => unknown = (error) => error,
): AsyncIterable<T> {
  return {
    [Symbol.asyncIterator]() {
      const iterator = source[Symbol.asyncIterator]();
      let ended = false;
      const end = (error?: unknown) => {
        if (ended) return;
        ended = true;
        onEnd(error);
      };
      return {
        async next() {
          try {
            const result = await iterator.next();
            if (result.done === true) end();
            return result;
          } catch (error) {
            const mapped = mapError(error);
            end(mapped);
            throw mapped;
          }
        },
        async return(value?: unknown) {
          end();
          await iterator.return?.(value);
          return { done: true, value: undefined };
        },
        async throw(error?: unknown) {
          end(error);
          await iterator.return?.();
          throw error;
        },
      };
    },
  };
}

/** Runs each step of `source` (its next, return and throw) inside `within`: a span's context, say. */
export function eachStepWithin<T>(source: AsyncIterable<T>, within: <R>(work: () => Promise<R>) => Promise<R>): AsyncIterable<T> {
  return {
    [Symbol.asyncIterator]() {
      const iterator = source[Symbol.asyncIterator]();
      return {
        next: () => within(() => iterator.next()),
        return: async (value?: unknown) => (iterator.return === undefined ? { done: true, value: undefined } : within(() => iterator.return!(value))),
        throw: async (error?: unknown) => {
          if (iterator.throw === undefined) throw error;
          return within(() => iterator.throw!(error));
        },
      };
    },
  };
}

/**
 * `source` until `signal` aborts, then failing with the signal's reason (a domain error that says
 * why: the server is draining, the stream reached its lifetime). The producer is not waited for:
 * Connect aborts the call's signal as the stream fails, which is what ends a watch. A message
 * already on its way when the signal aborts (health's NOT_SERVING, sent as draining begins) is
 * still sent: the failure waits for the turn of the event loop.
 */
export function endingOn<T>(source: AsyncIterable<T>, signal: AbortSignal): AsyncIterable<T> {
  return {
    [Symbol.asyncIterator]() {
      const iterator = source[Symbol.asyncIterator]();
      let onAbort: (() => void) | undefined;
      const ended = new Promise<never>((_, reject) => {
        onAbort = () => setImmediate(() => reject(signal.reason));
        signal.addEventListener("abort", onAbort, { once: true });
      });
      ended.catch(() => undefined);
      const stopListening = () => signal.removeEventListener("abort", onAbort!);
      const failed = (error: unknown): never => {
        stopListening();
        // Asked to stop, though it may only notice once Connect aborts the call's signal.
        if (error === signal.reason) void iterator.return?.().catch(() => undefined);
        throw error;
      };
      return {
        async next() {
          if (signal.aborted) return failed(signal.reason);
          try {
            const result = await Promise.race([iterator.next(), ended]);
            if (result.done === true) stopListening();
            return result;
          } catch (error) {
            return failed(error);
          }
        },
        async return(value?: unknown) {
          stopListening();
          await iterator.return?.(value);
          return { done: true, value: undefined };
        },
      };
    },
  };
}
