/**
 * Wraps a response stream so each message and any error thrown while producing it pass through
 * the given functions: streaming calls fail mid-stream, after the interceptor has returned.
 */
export async function* mapStream<T>(
  source: AsyncIterable<T>,
  onMessage: (message: T) => T,
  onError: (error: unknown) => never,
): AsyncGenerator<T> {
  try {
    for await (const message of source) yield onMessage(message);
  } catch (error) {
    onError(error);
  }
}
