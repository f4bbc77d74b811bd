import { connect as connectHttp2, constants } from "node:http2";
import { request as httpRequest } from "node:http";
import { connect, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { listen, type HttpServer } from "../../src/server/httpServer.js";
import type { RequestHandler } from "../../src/server/cors.js";
import { capturingLogger } from "../support/capturingLogger.js";

/** The plain-text port: the first bytes choose HTTP/1.1 or h2c, and each connection keeps its own socket. */

let server: HttpServer | undefined;
afterEach(() => {
  server?.stopAccepting();
  server?.destroyConnections();
  server = undefined;
});

/** Answers each request with the protocol it came in and the peer address its socket knows. */
const echoPeer: RequestHandler = (request, response) => {
  response.setHeader("content-type", "text/plain");
  response.end(`${request.httpVersion} ${request.socket.remoteAddress ?? "none"}`);
};

async function start(): Promise<HttpServer> {
  server = await listen(echoPeer, { host: "127.0.0.1", port: 0, idleTimeoutMs: 5_000, maxConcurrentStreams: 100, logger: capturingLogger().logger });
  return server;
}

function overHttp2(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const session = connectHttp2(url);
    session.on("error", reject);
    const stream = session.request({ [constants.HTTP2_HEADER_PATH]: "/" });
    let body = "";
    stream.setEncoding("utf8");
    stream.on("data", (chunk: string) => (body += chunk));
    stream.on("end", () => {
      session.close();
      resolve(body);
    });
    stream.on("error", reject);
    stream.end();
  });
}

function overHttp1(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    httpRequest(url, (response) => {
      let body = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => (body += chunk));
      response.on("end", () => resolve(body));
    })
      .on("error", reject)
      .end();
  });
}

/** The first bytes the server sends back on a raw connection, or "closed" if it closes first. */
function firstAnswer(socket: Socket): Promise<Buffer | "closed"> {
  return new Promise((resolve) => {
    socket.once("data", (data: Buffer) => resolve(data));
    socket.once("close", () => resolve("closed"));
    socket.on("error", () => undefined);
  });
}

describe("the plain-text port", () => {
  it("serves h2c on the connection's own socket, so the session knows its peer (a JavaScript stream wrapper knows none)", async () => {
    const { url } = await start();
    expect(await overHttp2(url)).toBe("2.0 127.0.0.1");
  });

  it("serves HTTP/1.1 on the same port", async () => {
    const { url } = await start();
    expect(await overHttp1(url)).toBe("1.1 127.0.0.1");
  });

  it("waits for the rest of an HTTP/2 preface that arrives in pieces", async () => {
    const { port } = await start();
    const socket = connect(port, "127.0.0.1");
    const answer = firstAnswer(socket);
    const preface = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");
    socket.write(preface.subarray(0, 5));
    await new Promise((resolve) => setTimeout(resolve, 50));
    // The rest of the preface, then an empty SETTINGS frame (length 0, type 4, no flags, stream 0).
    socket.write(Buffer.concat([preface.subarray(5), Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0])]));
    const first = await answer;
    socket.destroy();
    // The server's own SETTINGS frame: type 4 in the fourth byte of the frame header.
    expect(first).not.toBe("closed");
    expect((first as Buffer)[3]).toBe(4);
  });

  it("closes a TLS handshake at once", async () => {
    const { port } = await start();
    const socket = connect(port, "127.0.0.1");
    const answer = firstAnswer(socket);
    // A TLS record header of type handshake, then a few bytes of a ClientHello.
    socket.write(Buffer.from([0x16, 0x03, 0x01, 0x00, 0x05, 0x01, 0x00, 0x00, 0x01, 0x03]));
    expect(await answer).toBe("closed");
  });
});
