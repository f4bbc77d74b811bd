import { readFile } from "node:fs/promises";
import type { IncomingMessage } from "node:http";
import { createSecureServer, type Http2ServerRequest, type Http2Session } from "node:http2";
import type { Server, Socket } from "node:net";
import { createServer as createPolyglotServer } from "@httptoolkit/httpolyglot";
import type { RequestHandler } from "./cors.js";

export interface HttpServerOptions {
  readonly host: string;
  /** 0 picks a free port, for tests. */
  readonly port: number;
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

// Bounded so a slow or silent client cannot hold a connection, or its headers, forever.
const http1Options = { keepAliveTimeout: 65_000, headersTimeout: 10_000, requestTimeout: 60_000 };

/**
 * One port for every protocol. Plain text: the first bytes tell an HTTP/2 preface (gRPC over
 * h2c, Connect over HTTP/2) from HTTP/1.1 (Connect, gRPC-Web), since Node's http2 server alone
 * does not serve HTTP/1.1 without TLS. TLS: ALPN chooses h2 or http/1.1, and plain text is refused.
 */
export async function listen(handler: RequestHandler, options: HttpServerOptions): Promise<HttpServer> {
  const connections = new ConnectionTracker();
  const tracked: RequestHandler = (request, response) => {
    connections.requestStarted(request);
    response.once("close", () => connections.requestEnded(request));
    handler(request, response);
  };
  const server: Server =
    options.tls === undefined
      ? createPolyglotServer({ http: http1Options }, tracked)
      : createSecureServer(
          { allowHTTP1: true, cert: await readFile(options.tls.certFile), key: await readFile(options.tls.keyFile) },
          tracked,
        );
  server.on("connection", (socket: Socket) => connections.add(socket));
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
 * Knows every open connection and, for HTTP/1.1, how many requests are running on it, so draining
 * can close idle keep-alive connections at once and busy ones right after their response.
 */
class ConnectionTracker {
  private readonly sockets = new Set<Socket>();
  private readonly sessions = new Set<Http2Session>();
  /** HTTP/1.1 sockets only (HTTP/2 sockets belong to a session, which closes itself). */
  private readonly http1Requests = new Map<Socket, number>();
  private draining = false;

  add(socket: Socket): void {
    this.sockets.add(socket);
    socket.once("close", () => this.sockets.delete(socket));
  }

  addSession(session: Http2Session): void {
    this.sessions.add(session);
    session.once("close", () => this.sessions.delete(session));
    if (this.draining) session.close();
  }

  requestStarted(request: IncomingMessage | Http2ServerRequest): void {
    const socket = http1Socket(request);
    if (socket === undefined) return;
    if (!this.http1Requests.has(socket)) socket.once("close", () => this.http1Requests.delete(socket));
    this.http1Requests.set(socket, (this.http1Requests.get(socket) ?? 0) + 1);
  }

  requestEnded(request: IncomingMessage | Http2ServerRequest): void {
    const socket = http1Socket(request);
    if (socket === undefined) return;
    const running = (this.http1Requests.get(socket) ?? 1) - 1;
    this.http1Requests.set(socket, running);
    if (this.draining && running === 0) socket.end();
  }

  drain(): void {
    this.draining = true;
    for (const session of this.sessions) session.close();
    for (const [socket, running] of this.http1Requests) if (running === 0) socket.end();
  }

  destroyAll(): void {
    for (const session of this.sessions) session.destroy();
    for (const socket of this.sockets) socket.destroy();
  }
}

function http1Socket(request: IncomingMessage | Http2ServerRequest): Socket | undefined {
  return "stream" in request ? undefined : request.socket;
}
