import { connect as connectHttp2, constants, type ClientHttp2Session } from "node:http2";
import { request as httpRequest } from "node:http";
import { connect, type Socket } from "node:net";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect as connectTls } from "node:tls";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
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

async function start(idleTimeoutMs = 5_000, handler: RequestHandler = echoPeer): Promise<HttpServer> {
  server = await listen(handler, { host: "127.0.0.1", port: 0, idleTimeoutMs, maxConcurrentStreams: 100, logger: capturingLogger().logger });
  return server;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** The idle timeout of the tests that hold connections past it, and how many calls 100 ms apart outlast it twice. */
const idleMs = 1_000;
const busyCalls = 25;

/** One request on an open session, answered with its body. */
function call(session: ClientHttp2Session, path = "/"): Promise<string> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ [constants.HTTP2_HEADER_PATH]: path });
    let body = "";
    stream.setEncoding("utf8");
    stream.on("data", (chunk: string) => (body += chunk));
    stream.on("end", () => resolve(body));
    stream.on("error", reject);
    stream.end();
  });
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

/**
 * Calls 100 ms apart for 2.5 s, past two idle timeouts of 1 s (long against the pauses of a loaded
 * machine, which would fire an overdue timer before the next call): the session must stay open.
 */
async function expectOpenWhileBusy(session: ClientHttp2Session): Promise<void> {
  let closed = false;
  session.on("close", () => (closed = true));
  for (let index = 0; index < busyCalls; index++) {
    expect(await call(session)).toBe("2.0 127.0.0.1");
    await sleep(100);
  }
  expect(closed).toBe(false);
  session.close();
}

/** The same over one HTTP/1.1 keep-alive connection, written by hand so that it is one socket. */
async function expectHttp1OpenWhileBusy(socket: Socket): Promise<void> {
  socket.on("error", () => undefined);
  let closed = false;
  socket.on("close", () => (closed = true));
  let answers = "";
  socket.setEncoding("utf8");
  socket.on("data", (chunk: string) => (answers += chunk));
  for (let index = 0; index < busyCalls; index++) {
    socket.write("GET / HTTP/1.1\r\nHost: here\r\n\r\n");
    await sleep(100);
  }
  expect(closed).toBe(false);
  expect(answers.split("HTTP/1.1 200").length - 1).toBe(busyCalls);
  socket.destroy();
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

  it("keeps a busy h2c connection open past the idle timeout: the session's frames count, which its socket no longer sees", async () => {
    const { url } = await start(idleMs);
    await expectOpenWhileBusy(connectHttp2(url));
  });

  it("keeps an h2c connection whose stream is open but quiet, and closes one with nothing going on", async () => {
    const { url } = await start(idleMs, (request, response) => {
      if (request.url === "/quiet") setTimeout(() => response.end("late"), 2.5 * idleMs);
      else response.end("now");
    });
    const session = connectHttp2(url);
    expect(await call(session, "/quiet")).toBe("late");
    const closed = new Promise<void>((resolve) => session.once("close", () => resolve()));
    const started = Date.now();
    await closed;
    // Closed by the server's idle timeout, not left open.
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("keeps a busy HTTP/1.1 keep-alive connection open past the idle timeout", async () => {
    const { port } = await start(idleMs);
    await expectHttp1OpenWhileBusy(connect(port, "127.0.0.1"));
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

describe("the idle timeout over TLS", () => {
  let dir: string;
  let ca: Buffer;
  let tlsFiles: { certFile: string; keyFile: string };
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "onetime-tls-idle-"));
    tlsFiles = { certFile: join(dir, "cert.pem"), keyFile: join(dir, "key.pem") };
    execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", tlsFiles.keyFile, "-out", tlsFiles.certFile, "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1"], { stdio: "ignore" });
    ca = readFileSync(tlsFiles.certFile);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function startTls(): Promise<HttpServer> {
    server = await listen(echoPeer, { host: "127.0.0.1", port: 0, idleTimeoutMs: idleMs, maxConcurrentStreams: 100, logger: capturingLogger().logger, tls: tlsFiles });
    return server;
  }

  it("keeps a busy HTTP/2 connection open past it", async () => {
    const { url } = await startTls();
    await expectOpenWhileBusy(connectHttp2(url, { ca }));
  });

  it("keeps a busy HTTP/1.1 connection open past it", async () => {
    const { port } = await startTls();
    await expectHttp1OpenWhileBusy(connectTls({ port, host: "127.0.0.1", ca, ALPNProtocols: ["http/1.1"] }));
  });
});
