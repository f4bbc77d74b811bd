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
