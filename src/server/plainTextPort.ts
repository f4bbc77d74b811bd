import type { Server as Http1Server } from "node:http";
import type { Http2Server } from "node:http2";
import { createServer, type Server, type Socket } from "node:net";

/** What every HTTP/2 connection begins with (RFC 9113 §3.4). */
const http2Preface = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");
/** A TLS record of type handshake (a ClientHello) begins with this byte. */
const tlsHandshake = 0x16;

export interface PlainTextServers {
  readonly http1: Http1Server;
  readonly http2: Http2Server;
  /** Hands over sockets whose first bytes are a TLS handshake; they are closed after. */
  readonly onTls: (socket: Socket) => void;
  /** Told which server each connection went to, once its first bytes are read. */
  readonly onSniffed?: (socket: Socket, protocol: "http1" | "http2") => void;
}

/**
 * One plain-text port for HTTP/1.1 (Connect, gRPC-Web) and h2c (gRPC, Connect over HTTP/2): Node's
 * http2 server serves HTTP/1.1 only over TLS, so the first bytes decide. Each connection goes to
 * its server as the socket it is, the peeked bytes put back: Node's HTTP/2 session then reads and
 * writes the socket natively. (httpolyglot, used before, marks the socket as no native stream to
 * serve HTTP/2 tunnelled in HTTP/2, which routes every HTTP/2 frame through a JavaScript wrapper:
 * 6-17 % more server CPU per call, measured.)
 */
export function createPlainTextServer(servers: PlainTextServers): Server {
  return createServer((socket) => {
    // Until it belongs to a protocol server, nobody else hears its errors.
    const ignore = () => undefined;
    socket.on("error", ignore);
    let seen: Buffer = Buffer.alloc(0);
    const sniff = () => {
      const chunk = socket.read() as Buffer | null;
      if (chunk !== null) seen = seen.length === 0 ? chunk : Buffer.concat([seen, chunk]);
      if (seen.length === 0) return;
      if (seen[0] === tlsHandshake) {
        socket.off("readable", sniff);
        servers.onTls(socket);
        socket.destroy();
        return;
      }
      const compared = Math.min(seen.length, http2Preface.length);
      const maybeHttp2 = seen.subarray(0, compared).equals(http2Preface.subarray(0, compared));
      // A prefix of the preface: wait for the rest of it.
      if (maybeHttp2 && compared < http2Preface.length) return;
      socket.off("readable", sniff);
      socket.off("error", ignore);
      socket.unshift(seen);
      const protocol = maybeHttp2 ? "http2" : "http1";
      servers.onSniffed?.(socket, protocol);
      (protocol === "http2" ? servers.http2 : servers.http1).emit("connection", socket);
    };
    socket.on("readable", sniff);
  });
}
