import {
  connect,
  constants,
  type ClientHttp2Session,
  type ClientHttp2Stream,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
} from "node:http2";
import type { SecureContextOptions } from "node:tls";

export interface Http2SessionsOptions {
  /** Extra trusted CA certificates for `https:` origins. Default: Node's bundled roots. */
  readonly ca?: SecureContextOptions["ca"];
  /** How long `close()` lets in-flight streams finish before cutting them. Default 1000 ms. */
  readonly closeGraceMs?: number;
}

export interface Http2Reply {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** The body as text, cut at 64 KiB: provider answers are a few bytes of JSON. */
  readonly body: string;
}

export type Http2Exchange =
  | { readonly answered: true; readonly reply: Http2Reply }
  | { readonly answered: false; readonly reason: string };

/**
 * One long-lived HTTP/2 session per origin, as APNs asks ("keep your connections open"). A
 * session that receives GOAWAY, fails or closes is dropped and the next request opens another.
 * `http:` origins speak h2c with prior knowledge (local stand-ins in tests); `https:` negotiates h2.
 */
export interface Http2Sessions {
  /**
   * POSTs `body`. A request the server provably never processed (refused stream, session already
   * going away) is retried once on a fresh session; anything else short of an answer is reported,
   * not retried, because the provider may have acted on it.
   */
  post(origin: URL, path: string, headers: OutgoingHttpHeaders, body: string, signal: AbortSignal): Promise<Http2Exchange>;
  close(): Promise<void>;
}

const maxReplyBytes = 64 * 1024;
/** A stream that timed out may mean a dead connection: a ping unanswered this long proves it. */
const pingTimeoutMs = 2000;

type Attempt = { readonly ok: true; readonly reply: Http2Reply } | { readonly ok: false; readonly notSent: boolean; readonly reason: string };

export function createHttp2Sessions(options: Http2SessionsOptions = {}): Http2Sessions {
  const sessions = new Map<string, ClientHttp2Session>();
  let closed = false;

  const drop = (origin: string, session: ClientHttp2Session) => {
    if (sessions.get(origin) === session) sessions.delete(origin);
  };

  const sessionFor = (origin: URL): ClientHttp2Session => {
    const existing = sessions.get(origin.origin);
    if (existing !== undefined && !existing.closed && !existing.destroyed) return existing;
    const session = connect(origin, options.ca === undefined ? {} : { ca: options.ca });
    sessions.set(origin.origin, session);
    // Without an error listener a refused connection would crash the process; the streams on the
    // session report the failure to their callers.
    session.on("error", () => drop(origin.origin, session));
    session.on("goaway", () => drop(origin.origin, session));
    session.on("close", () => drop(origin.origin, session));
    return session;
  };

  const probing = new WeakSet<ClientHttp2Session>();
  /** Many sends timing out together share one ping. */
  const probe = (origin: string, session: ClientHttp2Session) => {
    if (session.destroyed || session.closed || session.connecting || probing.has(session)) return;
    probing.add(session);
    const condemn = () => {
      drop(origin, session);
      session.destroy();
    };
    const timer = setTimeout(condemn, pingTimeoutMs);
    timer.unref();
    const sent = session.ping((error) => {
      clearTimeout(timer);
      probing.delete(session);
      if (error !== null) condemn();
    });
    if (!sent) {
      clearTimeout(timer);
      probing.delete(session);
    }
  };

  return {
    async post(origin, path, headers, body, signal) {
      const requestHeaders = { ...headers, [constants.HTTP2_HEADER_METHOD]: "POST", [constants.HTTP2_HEADER_PATH]: path };
      for (let attempt = 1; ; attempt++) {
        if (closed) return { answered: false, reason: "client is closed" };
        if (signal.aborted) return { answered: false, reason: "aborted before the provider answered" };
        const session = sessionFor(origin);
        const result = await exchange(session, requestHeaders, body, signal);
        if (result.ok) return { answered: true, reply: result.reply };
        if (signal.aborted) {
          probe(origin.origin, session);
          return { answered: false, reason: result.reason };
        }
        if (!result.notSent || attempt >= 2) return { answered: false, reason: result.reason };
        drop(origin.origin, session);
      }
    },
    async close() {
      closed = true;
      const open = [...sessions.values()];
      sessions.clear();
      await Promise.all(open.map((session) => closeSession(session, options.closeGraceMs ?? 1000)));
    },
  };
}

function exchange(session: ClientHttp2Session, headers: OutgoingHttpHeaders, body: string, signal: AbortSignal): Promise<Attempt> {
  return new Promise<Attempt>((resolve) => {
    let stream: ClientHttp2Stream;
    try {
      stream = session.request(headers);
    } catch (error) {
      // The session is going away or out of stream ids: nothing reached the server.
      resolve({ ok: false, notSent: true, reason: `stream not opened (${errorCode(error)})` });
      return;
    }
    let status: number | undefined;
    let replyHeaders: IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const finish = (attempt: Attempt) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener("abort", onAbort);
      resolve(attempt);
    };
    const onAbort = () => {
      stream.close(constants.NGHTTP2_CANCEL);
      finish({ ok: false, notSent: false, reason: "aborted before the provider answered" });
    };
    signal.addEventListener("abort", onAbort, { once: true });

    stream.on("response", (received) => {
      replyHeaders = received;
      status = Number(received[constants.HTTP2_HEADER_STATUS]);
    });
    stream.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxReplyBytes) chunks.push(chunk);
    });
    stream.on("end", () => {
      if (status === undefined) return;
      finish({ ok: true, reply: { status, headers: replyHeaders, body: Buffer.concat(chunks).toString("utf8") } });
    });
    const reset = () => ({ ok: false, notSent: stream.rstCode === constants.NGHTTP2_REFUSED_STREAM, reason: `stream reset (${http2ErrorName(stream.rstCode)})` }) as const;
    stream.on("error", (error: unknown) => {
      const code = errorCode(error);
      finish(code === "ERR_HTTP2_STREAM_ERROR" ? reset() : { ok: false, notSent: false, reason: `stream failed (${code})` });
    });
    stream.on("close", () => finish(reset()));
    stream.end(body);
  });
}

function closeSession(session: ClientHttp2Session, graceMs: number): Promise<void> {
  if (session.destroyed) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const timer = setTimeout(() => session.destroy(), graceMs);
    session.once("close", () => {
      clearTimeout(timer);
      resolve();
    });
    session.close();
  });
}

/** RFC 9113 §7 error code names, by value. */
const http2ErrorNames = [
  "NO_ERROR", "PROTOCOL_ERROR", "INTERNAL_ERROR", "FLOW_CONTROL_ERROR", "SETTINGS_TIMEOUT", "STREAM_CLOSED", "FRAME_SIZE_ERROR",
  "REFUSED_STREAM", "CANCEL", "COMPRESSION_ERROR", "CONNECT_ERROR", "ENHANCE_YOUR_CALM", "INADEQUATE_SECURITY", "HTTP_1_1_REQUIRED",
];

function http2ErrorName(code: number | undefined): string {
  return (code === undefined ? undefined : http2ErrorNames[code]) ?? `HTTP/2 error ${String(code)}`;
}

/** The system or Node error code (ECONNREFUSED, ERR_HTTP2_STREAM_ERROR…); never a message. */
function errorCode(error: unknown): string {
  // A stream cancelled because its session failed carries the session's error (ECONNREFUSED) as cause.
  const cause = error instanceof Error ? codeOf(error.cause) : undefined;
  return cause ?? codeOf(error) ?? (error instanceof Error ? error.name : "unknown error");
}

function codeOf(error: unknown): string | undefined {
  return typeof error === "object" && error !== null && "code" in error && typeof error.code === "string" ? error.code : undefined;
}
