import { createContextKey, type Interceptor } from "@connectrpc/connect";
import type { IncomingMessage } from "node:http";
import type { Http2ServerRequest } from "node:http2";
import { CapacityLimitReached, StreamLifetimeReached } from "../../errors/domainError.js";
import { endingOn, observeStream } from "./streams.js";

/** The connection a call came on (an HTTP/2 session or an HTTP/1.1 socket), to count its streams. */
export const connectionKey = createContextKey<object | undefined>(undefined, { description: "connection" });

export function connectionOf(request: IncomingMessage | Http2ServerRequest): object {
  return "stream" in request ? request.stream.session ?? request.socket : request.socket;
}

export interface WatchStreamLimits {
  /** MAX_WATCH_STREAMS_PER_CONNECTION */
  readonly perConnection: number;
  /** MAX_WATCH_STREAMS */
  readonly perProcess: number;
  /** MAX_WATCH_STREAM_MS */
  readonly lifetimeMs: number;
}

/**
 * Bounds server-streaming calls (Health/Watch, WatchAuthToken): public, cheap to open and held
 * for minutes, they were what a client piled up to hold memory (about 100 KiB each). Each
 * connection may hold `perConnection` at once (HTTP/2's MAX_CONCURRENT_STREAMS alone makes a
 * client queue, silently), the process `perProcess`, and each ends after `lifetimeMs`: the keep-alive PINGs that hold a connection with open streams
 * past IDLE_TIMEOUT_MS then hold it no longer than that.
 */
export function watchStreams(limits: WatchStreamLimits): Interceptor {
  const open = new WeakMap<object, number>();
  let total = 0;
  return (next) => async (request) => {
    const connection = request.contextValues.get(connectionKey);
    if (request.method.methodKind !== "server_streaming" || connection === undefined) return next(request);
    if (total >= limits.perProcess) {
      throw new CapacityLimitReached(
        "STREAM_LIMIT_REACHED",
        `this server process has ${total} streaming calls open, as many as MAX_WATCH_STREAMS allows: retry later, or on another instance`,
      );
    }
    const held = open.get(connection) ?? 0;
    if (held >= limits.perConnection) {
      throw new CapacityLimitReached(
        "STREAM_LIMIT_REACHED",
        `this connection already has ${held} streaming calls open, as many as MAX_WATCH_STREAMS_PER_CONNECTION (${limits.perConnection}) allows: end one, or open another connection`,
      );
    }
    open.set(connection, held + 1);
    total++;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      total--;
      open.set(connection, (open.get(connection) ?? 1) - 1);
    };
    try {
      const response = await next(request);
      if (!response.stream) {
        release();
        return response;
      }
      return { ...response, message: observeStream(endingAfter(response.message, limits.lifetimeMs), release) };
    } catch (error) {
      release();
      throw error;
    }
  };
}

/** `source` until `lifetimeMs` has passed, then {@link StreamLifetimeReached}. */
function endingAfter<T>(source: AsyncIterable<T>, lifetimeMs: number): AsyncIterable<T> {
  return {
    [Symbol.asyncIterator]() {
      const lifetime = new AbortController();
      const timer = setTimeout(() => lifetime.abort(new StreamLifetimeReached(lifetimeMs)), lifetimeMs);
      return observeStream(endingOn(source, lifetime.signal), () => clearTimeout(timer))[Symbol.asyncIterator]();
    },
  };
}
