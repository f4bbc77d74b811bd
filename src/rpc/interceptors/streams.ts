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
