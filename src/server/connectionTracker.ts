import type { IncomingMessage, ServerResponse } from "node:http";
import { constants as http2Constants, type Http2ServerRequest, type Http2ServerResponse, type Http2Session } from "node:http2";
import type { Socket } from "node:net";

/**
 * How long a drain keeps idle connections open for requests already on their way: a client may
 * have written one just before it could learn of the drain, and it arrives within a round trip.
 * Answered (refused, most likely) with the connection closed after, it never meets a closed socket.
 */
export const inFlightGraceMs = 250;

// The largest stream id: a GOAWAY naming it tells a client to open no more streams while every
// stream it has sent, even one still on the wire, is served.
const anyStream = 2 ** 31 - 1;

/**
 * Knows every open connection: which speak HTTP/2, and which HTTP/1.1 requests are running on
 * the others, so that a drain ends each connection only where no call can be lost. HTTP/2
 * sessions get GOAWAY twice (first "no new streams", then, a round trip later, the last stream
 * served), HTTP/1.1 answers carry `Connection: close`, and idle HTTP/1.1 connections close after
 * {@link inFlightGraceMs}. Keyed by remote address and port, since HTTP/2 sessions and TLS wrap
 * the raw socket.
 */
export class ConnectionTracker {
  private readonly sockets = new Map<string, Socket>();
  private readonly http2 = new Set<string>();
  private readonly sessions = new Set<Http2Session>();
  private readonly http1Responses = new Map<string, Set<ServerResponse>>();
  /** Connections accepted past `maxConnections`: each request on them is refused, then they close. */
  private readonly overCapacity = new Set<string>();
  private draining = false;

  constructor(
    private readonly idleTimeoutMs: number,
    private readonly maxConnections = Number.POSITIVE_INFINITY,
  ) {}

  add(socket: Socket): void {
    const key = keyOf(socket);
    if (this.sockets.has(key)) return;
    // Accepted rather than dropped, so the client is told which limit it met, in its protocol.
    if (this.sockets.size - this.overCapacity.size >= this.maxConnections) this.overCapacity.add(key);
    this.sockets.set(key, socket);
    // The plain-text port accepts on a net.Server, which leaves Nagle's algorithm on: small gRPC
    // frames then wait for delayed ACKs (~40 ms each). Every RPC here is small and latency-bound.
    socket.setNoDelay(true);
    // Node's own header and request timeouts never start on a server that does not listen
    // itself (the plain-text port's inner ones), so silence is bounded here, for every protocol.
    socket.setTimeout(this.idleTimeoutMs, () => socket.destroy());
    socket.once("close", () => {
      this.sockets.delete(key);
      this.http2.delete(key);
      this.http1Responses.delete(key);
      this.overCapacity.delete(key);
    });
  }

  /** Whether the request came on a connection past MAX_CONNECTIONS. */
  isOverCapacity(request: IncomingMessage | Http2ServerRequest): boolean {
    return this.overCapacity.size > 0 && this.overCapacity.has(keyOf(request.socket));
  }

  markHttp2(socket: Socket): void {
    this.http2.add(keyOf(socket));
  }

  addSession(session: Http2Session): void {
    this.sessions.add(session);
    session.once("close", () => this.sessions.delete(session));
    // A long Watch stream may be quiet for minutes: ping while streams are open, so that a peer
    // that is gone fails the ping, and the idle timeout only closes connections with no stream.
    let open = 0;
    const keepAlive = setInterval(() => {
      if (open > 0 && !session.destroyed) session.ping(() => undefined);
    }, Math.max(1_000, Math.floor(this.idleTimeoutMs / 2)));
    keepAlive.unref();
    session.on("stream", (stream) => {
      open++;
      stream.once("close", () => open--);
    });
    session.once("close", () => clearInterval(keepAlive));
    // The session reads and writes its socket natively, so the socket's own timer never sees a
    // frame and would close a busy connection: the session's timer counts its frames instead.
    this.sockets.get(keyOf(session.socket))?.setTimeout(0);
    const whenIdle = () => {
      if (open > 0) session.setTimeout(this.idleTimeoutMs, whenIdle);
      else session.destroy();
    };
    session.setTimeout(this.idleTimeoutMs, whenIdle);
    if (this.draining) closeGracefully(session);
  }

  /** Notes an HTTP/1.1 request on its connection; returns what to call when its response closes. */
  requestStarted(request: IncomingMessage | Http2ServerRequest, response: ServerResponse | Http2ServerResponse): () => void {
    if ("stream" in request) return () => undefined;
    const http1Response = response as ServerResponse;
    if (this.draining) closeAfter(http1Response);
    // Taken now: by the time the response closes, Node may have detached the request from its
    // socket (seen when a gRPC-Web body was refused before it was read to the end).
    const socket = request.socket;
    const key = keyOf(socket);
    const running = this.http1Responses.get(key) ?? new Set();
    this.http1Responses.set(key, running.add(http1Response));
    return () => {
      running.delete(http1Response);
      // An answer that said `Connection: close` ends its connection itself; one that started
      // before the drain could not say it, and its client may be sending the next request.
      if (this.draining && running.size === 0) this.endWhenIdle(key, socket);
    };
  }

  drain(): void {
    this.draining = true;
    for (const session of this.sessions) closeGracefully(session);
    for (const running of this.http1Responses.values()) running.forEach(closeAfter);
    // Idle HTTP/1.1 connections, and ones that never sent a request (pre-connecting clients,
    // probes), would hold the drain up.
    for (const [key, socket] of this.sockets) {
      if (!this.http2.has(key)) this.endWhenIdle(key, socket);
    }
  }

  /** Ends an HTTP/1.1 connection once requests already sent on it have arrived, if none has. */
  private endWhenIdle(key: string, socket: Socket): void {
    // Decided after the event loop's next read of the sockets (setImmediate runs after it): on a
    // busy process, a request that arrived in time may still be unread when the timer fires.
    const endIfIdle = () => {
      if ((this.http1Responses.get(key)?.size ?? 0) === 0) socket.end();
    };
    setTimeout(() => setImmediate(endIfIdle), inFlightGraceMs).unref();
  }

  destroyAll(): void {
    for (const session of this.sessions) session.destroy();
    for (const socket of this.sockets.values()) socket.destroy();
  }
}

/** Has Node close the connection after this answer, and tells the client so it sends no more. */
function closeAfter(response: ServerResponse): void {
  if (!response.headersSent) response.setHeader("connection", "close");
}

/**
 * The shutdown HTTP/2 intends (RFC 9113, 6.8): GOAWAY naming every stream, so the client stops
 * opening new ones; a PING, whose answer proves the client has read it, so every stream it sent
 * before has arrived; then the final GOAWAY, and the session closes once those streams end.
 */
function closeGracefully(session: Http2Session): void {
  if (session.closed || session.destroyed) return;
  session.goaway(http2Constants.NGHTTP2_NO_ERROR, anyStream);
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    if (!session.closed && !session.destroyed) session.close();
  };
  if (!session.ping(close)) close();
  // A client that never answers the PING must not hold the drain.
  setTimeout(close, inFlightGraceMs).unref();
}

function keyOf(socket: Socket): string {
  return `${socket.remoteAddress}|${socket.remotePort}`;
}
