import { connect as http2Connect, type ClientHttp2Session, type ClientHttp2Stream } from "node:http2";
import { Code, ConnectError } from "@connectrpc/connect";
import { findTrailerError } from "@connectrpc/connect/protocol-grpc";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { capturingLogger } from "../support/capturingLogger.js";
import { envelope } from "../support/rawRequests.js";
import { backends, startTestServer, type TestServer } from "../support/server.js";

const watchPath = "/grpc.health.v1.Health/Watch";
const checkPath = "/grpc.health.v1.Health/Check";
const watchTokenPath = "/onetime.v1.AccountTokenService/WatchAuthToken";

interface OpenStream {
  readonly stream: ClientHttp2Stream;
  /** Resolves with the status the stream ended with (undefined: OK). */
  readonly ended: Promise<ConnectError | undefined>;
  /** Resolves once the first message has arrived: the server took the stream. */
  readonly firstMessage: Promise<void>;
}

/** A gRPC call on `session` with an empty request (a HealthCheckRequest for the whole server). */
function grpcCall(session: ClientHttp2Session, path: string, body: Buffer = envelope(Buffer.alloc(0))): OpenStream {
  const stream = session.request({ ":method": "POST", ":path": path, "content-type": "application/grpc", te: "trailers" });
  let headers = new Headers();
  let gotMessage: () => void = () => undefined;
  const firstMessage = new Promise<void>((resolve) => (gotMessage = resolve));
  const ended = new Promise<ConnectError | undefined>((resolve, reject) => {
    stream.on("response", (raw) => (headers = toHeaders(raw)));
    stream.on("trailers", (raw) => resolve(findTrailerError(toHeaders(raw))));
    stream.on("data", () => gotMessage());
    stream.on("close", () => resolve(findTrailerError(headers)));
    stream.on("error", reject);
  });
  stream.end(body);
  return { stream, ended, firstMessage };
}

function toHeaders(raw: Record<string, string | string[] | number | undefined>): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(raw)) {
    if (!name.startsWith(":") && value !== undefined) headers.set(name, String(value));
  }
  return headers;
}

function reasonOf(error: ConnectError | undefined): string | undefined {
  return error?.findDetails(ErrorInfoSchema)[0]?.reason;
}

describe.each(backends)("streams and connections are bounded, and refusals say which limit (%s backends)", (backend) => {
  let server: TestServer;
  let records: Record<string, unknown>[];
  const sessions: ClientHttp2Session[] = [];
  const connect = async () => {
    const session = http2Connect(server.url);
    sessions.push(session);
    await new Promise<void>((resolve, reject) => session.once("connect", () => resolve()).once("error", reject));
    return session;
  };

  beforeAll(async () => {
    const captured = capturingLogger("warn");
    records = captured.records;
    server = await startTestServer(
      backend,
      "watchlimits",
      { MAX_WATCH_STREAMS_PER_CONNECTION: "3", MAX_WATCH_STREAMS: "5", MAX_CONNECTIONS: "4", MAX_WATCH_STREAM_MS: "1500", IDLE_TIMEOUT_MS: "2500" },
      {},
      captured.logger,
    );
  });
  afterEach(async () => {
    for (const session of sessions.splice(0)) session.destroy();
    // The server sees them close a moment later.
    await new Promise((resolve) => setTimeout(resolve, 100));
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("refuses a Watch past MAX_WATCH_STREAMS_PER_CONNECTION on that connection, naming the setting; WatchAuthToken shares the count", async () => {
    const session = await connect();
    const open = [grpcCall(session, watchPath), grpcCall(session, watchPath), grpcCall(session, watchPath)];
    await Promise.all(open.map((call) => call.firstMessage));

    for (const path of [watchPath, watchTokenPath]) {
      const refused = await grpcCall(session, path).ended;
      expect(refused?.code).toBe(Code.ResourceExhausted);
      expect(refused?.rawMessage).toContain("MAX_WATCH_STREAMS_PER_CONNECTION (3)");
      expect(reasonOf(refused)).toBe("STREAM_LIMIT_REACHED");
    }
    // Unary calls are not streams it counts.
    expect(await grpcCall(session, checkPath).ended).toBeUndefined();
    // Another connection has its own.
    const other = await connect();
    await grpcCall(other, watchPath).firstMessage;

    // One ends, and its place is free again.
    open[0]!.stream.close();
    await open[0]!.ended;
    await new Promise((resolve) => setTimeout(resolve, 50));
    await grpcCall(session, watchPath).firstMessage;
  });

  it("refuses a Watch past MAX_WATCH_STREAMS in the process, whichever connection it comes on", async () => {
    const [first, second, third] = [await connect(), await connect(), await connect()];
    const open = [first, first, first, second, second].map((session) => grpcCall(session, watchPath));
    await Promise.all(open.map((call) => call.firstMessage));
    const refused = await grpcCall(third, watchPath).ended;
    expect(refused?.code).toBe(Code.ResourceExhausted);
    expect(refused?.rawMessage).toContain("as many as MAX_WATCH_STREAMS allows");
    expect(reasonOf(refused)).toBe("STREAM_LIMIT_REACHED");
  });

  it("ends a Watch at MAX_WATCH_STREAM_MS with unavailable, so the client calls again, logged as a warning", async () => {
    const session = await connect();
    const call = grpcCall(session, watchPath);
    await call.firstMessage;
    const ended = await call.ended;
    expect(ended?.code).toBe(Code.Unavailable);
    expect(ended?.rawMessage).toContain("MAX_WATCH_STREAM_MS");
    expect(reasonOf(ended)).toBe("STREAM_LIFETIME_REACHED");
    expect(records.filter((record) => record.msg === "rpc failed")).toEqual([]);
    expect(records.some((record) => record.msg === "rpc refused" && record.outcome === "Unavailable")).toBe(true);
    // The watch behind it stopped too: no call is left in flight.
    await vi.waitFor(() => expect(server.server.app.calls.active).toBe(0));
  });

  it("lets a connection whose only Watch stayed quiet close once the stream's lifetime and the idle timeout have passed", async () => {
    const session = await connect();
    const closed = new Promise<void>((resolve) => session.once("close", () => resolve()));
    await grpcCall(session, watchPath).firstMessage;
    // The stream ends at 1.5 s; the connection then is idle and closes 2.5 s later.
    await expect(Promise.race([closed.then(() => "closed"), new Promise((resolve) => setTimeout(() => resolve("open"), 8_000))])).resolves.toBe("closed");
  });

  it("refuses requests on a connection past MAX_CONNECTIONS, naming the setting, then closes it", async () => {
    const held = await Promise.all([connect(), connect(), connect(), connect()]);
    for (const session of held) expect(await grpcCall(session, checkPath).ended).toBeUndefined();

    const extra = await connect();
    const closed = new Promise<void>((resolve) => extra.once("close", () => resolve()));
    const refused = await grpcCall(extra, checkPath).ended;
    expect(refused?.code).toBe(Code.ResourceExhausted);
    expect(refused?.rawMessage).toContain("MAX_CONNECTIONS");
    expect(reasonOf(refused)).toBe("CONNECTION_LIMIT_REACHED");
    await closed;

    // Over HTTP/1.1, in Connect's words.
    const answer = await fetch(`${server.url}${checkPath}`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    expect(answer.headers.get("connection")).toBe("close");
    const body = (await answer.json()) as { code: string; message: string };
    expect(body.code).toBe("resource_exhausted");
    expect(body.message).toContain("MAX_CONNECTIONS");

    // One closes, and a new connection is served.
    held[0]!.destroy();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await grpcCall(await connect(), checkPath).ended).toBeUndefined();
  });
});
