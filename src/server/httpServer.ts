import { readFile } from "node:fs/promises";
import { createServer as createHttp1Server, type ServerResponse } from "node:http";
import type { TLSSocket } from "node:tls";
import { createServer as createHttp2Server, createSecureServer, type Http2SecureServer, type Http2Server, type Http2Session, type ServerOptions } from "node:http2";
import type { Server, Socket } from "node:net";
import { StartRefused } from "../errors/startRefused.js";
import type { Logger } from "../observability/logger.js";
import { onceEvery } from "../observability/onceEvery.js";
import type { RequestHandler } from "./cors.js";
import { ConnectionTracker } from "./connectionTracker.js";
import { createPlainTextServer } from "./plainTextPort.js";

export interface HttpServerOptions {
  readonly host: string;
  /** 0 picks a free port, for tests. */
  readonly port: number;
  /** A connection silent in both directions this long is closed; also what bounds slow headers. */
  readonly idleTimeoutMs: number;
  /** HTTP/2 streams a connection may have open at once. */
  readonly maxConcurrentStreams: number;
  /** Connections held open at once; requests on more are answered by `overCapacity`. */
  readonly maxConnections?: number;
  /** Refuses a request on a connection past `maxConnections`; the connection closes after. */
  readonly overCapacity?: RequestHandler;
  /** Certificate and key files; without them the server speaks plain text (h2c and HTTP/1.1). */
  readonly tls?: { readonly certFile: string; readonly keyFile: string };
  /** Hears of TLS handshakes on a plain-text port (see {@link warnOfTlsOnPlainPort}). */
  readonly logger: Logger;
}

export interface HttpServer {
  readonly port: number;
  readonly url: string;
  /**
   * Stops accepting connections and lets the open ones finish: HTTP/2 clients get GOAWAY and the
   * session closes once its streams are done; HTTP/1.1 answers say `Connection: close`, and idle
   * connections close (see connectionTracker.ts).
   */
  stopAccepting(): void;
  /** Resolves true once every connection has closed, or false when `timeoutMs` passes first. */
  drained(timeoutMs: number): Promise<boolean>;
  /** Cuts every connection still open. */
  destroyConnections(): void;
}

const http1Options = { keepAliveTimeout: 65_000 };

/** The server that accepts connections, and the one that announces HTTP/2 sessions. */
interface Listening {
  readonly server: Server;
  readonly sessions: Http2Server | Http2SecureServer;
}

/** A TLS handshake on the plain-text port is warned about at most once per this interval. */
const tlsOnPlainPortWarnEveryMs = 10 * 60_000;

/**
 * One port for every protocol. Plain text: the first bytes tell an HTTP/2 preface (gRPC over
 * h2c, Connect over HTTP/2) from HTTP/1.1 (Connect, gRPC-Web), since Node's http2 server alone
 * does not serve HTTP/1.1 without TLS. TLS: ALPN chooses h2 or http/1.1, and plain text is refused.
 */
export async function listen(handler: RequestHandler, options: HttpServerOptions): Promise<HttpServer> {
  const connections = new ConnectionTracker(options.idleTimeoutMs, options.maxConnections);
  const tracked: RequestHandler = (request, response) => {
    response.once("close", connections.requestStarted(request, response));
    if (options.overCapacity !== undefined && connections.isOverCapacity(request)) {
      refuseAndClose(request, response, options.overCapacity);
      return;
    }
    handler(request, response);
  };
  const http2Options: ServerOptions = { settings: { maxConcurrentStreams: options.maxConcurrentStreams } };
  const warnOfTls = warnOfTlsOnPlainPort(options.logger, () => {
    const address = server.address();
    return address === null || typeof address === "string" ? undefined : address.port;
  });
  // The plain-text port hands h2c connections to an HTTP/2 server of its own, whose sessions are
  // announced there; over TLS the one server does both.
  const plainText = (): Listening => {
    const http2 = createHttp2Server(http2Options, tracked);
    const port = createPlainTextServer({
      http1: createHttp1Server(http1Options, tracked),
      http2,
      // A TLS ClientHello is closed at once; the client only sees it reset.
      onTls: warnOfTls,
      onSniffed: (socket, protocol) => {
        if (protocol === "http2") connections.markHttp2(socket);
      },
    });
    return { server: port, sessions: http2 };
  };
  const overTls = async (tls: NonNullable<HttpServerOptions["tls"]>): Promise<Listening> => {
    const secure = createSecureServer(
      { ...http2Options, allowHTTP1: true, minVersion: "TLSv1.2", cert: await readFile(tls.certFile), key: await readFile(tls.keyFile) },
      tracked,
    );
    secure.on("secureConnection", (socket: TLSSocket) => {
      if (socket.alpnProtocol === "h2") connections.markHttp2(socket);
    });
    return { server: secure, sessions: secure };
  };
  const { server, sessions } = options.tls === undefined ? plainText() : await overTls(options.tls);
  server.on("connection", (socket: Socket) => connections.add(socket));
  sessions.on("session", (session: Http2Session) => connections.addSession(session));
  const closed = new Promise<void>((resolve) => server.once("close", () => resolve()));

  await new Promise<void>((resolve, reject) => {
    const refuse = (error: NodeJS.ErrnoException) => reject(listenRefusal(error, options));
    server.once("error", refuse);
    server.listen(options.port, options.host, () => {
      server.off("error", refuse);
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
 * Someone called `https://` on the plain-text port (or a TLS proxy forwards to it as TLS): said
 * once per interval, since a scanner can repeat it at will.
 */
function warnOfTlsOnPlainPort(logger: Logger, port: () => number | undefined): (socket: Socket) => void {
  const firstTime = onceEvery(tlsOnPlainPortWarnEveryMs, 1);
  return (socket) => {
    if (!firstTime("tls")) return;
    logger.warn(
      // The stand-in has closed the socket by now: its peer is the one read when it connected.
      { client: socket.remoteAddress, port: port(), settings: ["TLS_CERT_FILE", "TLS_KEY_FILE"] },
      "TLS handshake on the plain-text port, closed: this port serves plain HTTP (h2c and HTTP/1.1), so call it with http://, terminate TLS in front of it, or set TLS_CERT_FILE and TLS_KEY_FILE to serve TLS here (said at most once every 10 minutes)",
    );
  };
}

/** A port the operator has to change, said as a sentence naming the settings; anything else as it came. */
function listenRefusal(error: NodeJS.ErrnoException, options: HttpServerOptions): Error {
  const where = `PORT ${options.port} on HOST ${options.host}`;
  switch (error.code) {
    case "EADDRINUSE":
      return new StartRefused(`${where} is already in use (another onetime, or another server): stop it, or set PORT to a free port`, { cause: error });
    case "EACCES":
      return new StartRefused(`${where} needs privileges this process lacks (ports below 1024 do): set PORT to 1024 or above and map the port in front, or grant CAP_NET_BIND_SERVICE`, { cause: error });
    case "EADDRNOTAVAIL":
      return new StartRefused(`HOST ${options.host} is not an address of this machine: set HOST to one of its addresses, or 0.0.0.0 for all`, { cause: error });
    default:
      return error;
  }
}

/** Answers with `refuse`, then ends the connection: it was one too many. */
function refuseAndClose(request: Parameters<RequestHandler>[0], response: Parameters<RequestHandler>[1], refuse: RequestHandler): void {
  if ("stream" in request) {
    const session = request.stream.session;
    response.once("finish", () => session?.close());
  } else {
    (response as ServerResponse).setHeader("connection", "close");
  }
  refuse(request, response);
}
