import { readFile } from "node:fs/promises";
import { Server as HttpServerClass, type IncomingMessage } from "node:http";
import { Server as TlsServer, type TLSSocket } from "node:tls";
import { createSecureServer, type Http2ServerRequest, type Http2Session, type ServerOptions } from "node:http2";
import type { Server, Socket } from "node:net";
import { createServer as createPolyglotServer } from "@httptoolkit/httpolyglot";
import type { RequestHandler } from "./cors.js";

export interface HttpServerOptions {
  readonly host: string;
  /** 0 picks a free port, for tests. */
  readonly port: number;
  /** A connection silent in both directions this long is closed; also what bounds slow headers. */
  readonly idleTimeoutMs: number;
  /** HTTP/2 streams a connection may have open at once. */
  readonly maxConcurrentStreams: number;
  /** Certificate and key files; without them the server speaks plain text (h2c and HTTP/1.1). */
  readonly tls?: { readonly certFile: string; readonly keyFile: string };
}

export interface HttpServer {
  readonly port: number;
  readonly url: string;
  /**
   * Stops accepting connections and lets the open ones finish: HTTP/2 clients get GOAWAY and the
   * session closes once its streams are done; HTTP/1.1 connections close when idle.
   */
  stopAccepting(): void;
  /** Resolves true once every connection has closed, or false when `timeoutMs` passes first. */
  drained(timeoutMs: number): Promise<boolean>;
  /** Cuts every connection still open. */
  destroyConnections(): void;
}

const http1Options = { keepAliveTimeout: 65_000 };

/**
 * One port for every protocol. Plain text: the first bytes tell an HTTP/2 preface (gRPC over
 * h2c, Connect over HTTP/2) from HTTP/1.1 (Connect, gRPC-Web), since Node's http2 server alone
 * does not serve HTTP/1.1 without TLS. TLS: ALPN chooses h2 or http/1.1, and plain text is refused.
 */
export async function listen(handler: RequestHandler, options: HttpServerOptions): Promise<HttpServer> {
  const connections = new ConnectionTracker(options.idleTimeoutMs);
  const tracked: RequestHandler = (request, response) => {
    response.once("close", connections.requestStarted(request));
    handler(request, response);
  };
  const http2Options: ServerOptions = { settings: { maxConcurrentStreams: options.maxConcurrentStreams } };
  const server: Server =
    options.tls === undefined
      ? createPolyglotServer({ http: http1Options, http2: http2Options }, tracked)
      : createSecureServer(
          {
            ...http2Options,
            allowHTTP1: true,
            minVersion: "TLSv1.2",
            cert: await readFile(options.tls.certFile),
            key: await readFile(options.tls.keyFile),
          },
          tracked,
        );
  server.on("connection", function (this: unknown, socket: Socket) {
    connections.add(socket);
    // httpolyglot hands each plain-text connection on to the protocol server it sniffed, and
    // this listener hears that too: `this` tells which server it went to.
    if (this !== server && !(this instanceof HttpServerClass) && !(this instanceof TlsServer)) connections.markHttp2(socket);
  });
  server.on("secureConnection", (socket: TLSSocket) => {
    if (socket.alpnProtocol === "h2") connections.markHttp2(socket);
  });
  server.on("session", (session: Http2Session) => connections.addSession(session));
  const closed = new Promise<void>((resolve) => server.once("close", () => resolve()));

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("server is not listening on TCP");
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;

  return {
    port: address.port,
    url: `${options.tls === undefined ? "http" : "https"}://${host}:${address.port}`,
    stopAccepting() {
      server.close();
      connections.drain();
    },
    async drained(timeoutMs) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
      const result = await Promise.race([closed.then(() => true), timeout]);
      clearTimeout(timer);
      return result;
    },
    destroyConnections: () => connections.destroyAll(),
  };
}

/**
 * Knows every open connection: which speak HTTP/2 (their session closes itself after GOAWAY) and
 * how many HTTP/1.1 requests are running on the others, so draining can close idle connections
 * at once and busy ones right after their last response. Keyed by remote address and port, since
 * HTTP/2 sessions and TLS wrap the raw socket.
 */
class ConnectionTracker {
  private readonly sockets = new Map<string, Socket>();
  private readonly http2 = new Set<string>();
  private readonly sessions = new Set<Http2Session>();
  private readonly http1Requests = new Map<string, number>();
  private draining = false;

  constructor(private readonly idleTimeoutMs: number) {}

  add(socket: Socket): void {
    const key = keyOf(socket);
    // httpolyglot re-emits each connection to the protocol server it picked: count it once.
    if (this.sockets.has(key)) return;
    this.sockets.set(key, socket);
    // httpolyglot accepts on a plain net.Server, which leaves Nagle's algorithm on: small gRPC
    // frames then wait for delayed ACKs (~40 ms each). Every RPC here is small and latency-bound.
    socket.setNoDelay(true);
    // Node's own header and request timeouts never start on a server that does not listen
    // itself (httpolyglot's inner ones), so silence is bounded here, for every protocol.
    socket.setTimeout(this.idleTimeoutMs, () => socket.destroy());
    socket.once("close", () => {
      this.sockets.delete(key);
      this.http2.delete(key);
      this.http1Requests.delete(key);
    });
  }

  markHttp2(socket: Socket): void {
    this.http2.add(keyOf(socket));
  }

  addSession(session: Http2Session): void {
    this.sessions.add(session);
    session.once("close", () => this.sessions.delete(session));
    // A long Watch stream may be quiet for minutes: ping while streams are open, so the idle
    // timeout only closes connections that really have nothing going on.
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
    if (this.draining) session.close();
  }

  /** Counts an HTTP/1.1 request on its connection; returns what to call when its response closes. */
  requestStarted(request: IncomingMessage | Http2ServerRequest): () => void {
    if ("stream" in request) return () => undefined;
    // Taken now: by the time the response closes, Node may have detached the request from its
    // socket (seen when a gRPC-Web body was refused before it was read to the end).
    const socket = request.socket;
    const key = keyOf(socket);
    this.http1Requests.set(key, (this.http1Requests.get(key) ?? 0) + 1);
    return () => {
      const running = (this.http1Requests.get(key) ?? 1) - 1;
      this.http1Requests.set(key, running);
      if (this.draining && running === 0) socket.end();
    };
  }

  drain(): void {
    this.draining = true;
    for (const session of this.sessions) session.close();
    // Everything else that is not busy goes now: idle keep-alives, and connections that never
    // sent a request (pre-connecting clients, probes) which would otherwise hold the drain.
    for (const [key, socket] of this.sockets) {
      if (!this.http2.has(key) && (this.http1Requests.get(key) ?? 0) === 0) socket.end();
    }
  }

  destroyAll(): void {
    for (const session of this.sessions) session.destroy();
    for (const socket of this.sockets.values()) socket.destroy();
  }
}

function keyOf(socket: Socket): string {
  return `${socket.remoteAddress}|${socket.remotePort}`;
}
