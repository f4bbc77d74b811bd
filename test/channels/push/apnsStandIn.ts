import { randomUUID } from "node:crypto";
import { constants, createSecureServer, createServer, type Http2SecureServer, type Http2Server, type Http2Session, type IncomingHttpHeaders, type ServerHttp2Stream } from "node:http2";
import type { AddressInfo } from "node:net";
import { decodeProtectedHeader, jwtVerify, type CryptoKey, type JWTPayload } from "jose";

/** One request as the stand-in saw it, after checking its provider token like APNs would. */
export interface ApnsRequest {
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: unknown;
  readonly token: string;
  readonly claims: JWTPayload;
  /** Which connection carried it (1 for the first session, 2 for the next…). */
  readonly session: number;
}

export type ApnsAnswer =
  | { readonly status: number; readonly reason?: string; readonly headers?: Readonly<Record<string, string>> }
  /** Accept the stream and never answer. */
  | "hang"
  /** Reset the stream with REFUSED_STREAM: the server did not process it. */
  | "refuse-stream";

export interface ApnsStandInOptions {
  readonly publicKey: CryptoKey;
  readonly keyId: string;
  readonly teamId: string;
  /** The clock the provider token is judged by (APNs' own). */
  readonly now: () => number;
  /** Serve h2 over TLS with this certificate instead of h2c. */
  readonly tls?: { readonly key: string; readonly cert: string };
}

/**
 * A local h2c server that behaves like APNs' provider API for one key: it verifies the provider
 * JWT (ES256, `kid`, `iss`, at most 60 minutes old) and answers as `answer` says, 200 by default.
 */
export class ApnsStandIn {
  readonly requests: ApnsRequest[] = [];
  /** Requests refused before `answer` saw them, with APNs' reason. */
  readonly refusals: string[] = [];
  answer: (request: ApnsRequest, index: number) => ApnsAnswer = () => ({ status: 200 });
  /** Send GOAWAY on a session once it has answered this many requests. */
  goawayAfter: number | undefined;
  sessionsOpened = 0;
  private readonly sessions = new Set<Http2Session>();
  private readonly sessionNumbers = new WeakMap<Http2Session, number>();
  private readonly server: Http2Server | Http2SecureServer;

  private constructor(private readonly options: ApnsStandInOptions) {
    this.server = options.tls === undefined ? createServer() : createSecureServer({ key: options.tls.key, cert: options.tls.cert });
    this.server.on("session", (session) => {
      this.sessionsOpened += 1;
      this.sessions.add(session);
      this.sessionNumbers.set(session, this.sessionsOpened);
      session.on("close", () => this.sessions.delete(session));
    });
    this.server.on("stream", (stream, headers) => {
      const sessionNumber = stream.session === undefined ? 0 : (this.sessionNumbers.get(stream.session) ?? 0);
      const chunks: Buffer[] = [];
      // A stream we reset (or the client cancels) reports it here; that is the point, not a failure.
      stream.on("error", () => undefined);
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("end", () => void this.handle(stream, headers, Buffer.concat(chunks).toString("utf8"), sessionNumber));
    });
  }

  static async start(options: ApnsStandInOptions): Promise<ApnsStandIn> {
    const standIn = new ApnsStandIn(options);
    await new Promise<void>((resolve) => standIn.server.listen(0, "127.0.0.1", resolve));
    return standIn;
  }

  get url(): string {
    const scheme = this.options.tls === undefined ? "http" : "https";
    return `${scheme}://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    for (const session of this.sessions) session.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, text: string, sessionNumber: number): Promise<void> {
    const path = headers[":path"] ?? "";
    if (headers[":method"] !== "POST") return this.reply(stream, { status: 405, reason: "MethodNotAllowed" });
    if (!/^\/3\/device\/[A-Za-z0-9]+$/.test(path)) return this.reply(stream, { status: 404, reason: "BadPath" });
    const token = /^bearer (.+)$/.exec(headers.authorization ?? "")?.[1];
    if (token === undefined) return this.refuse(stream, "MissingProviderToken");
    let claims: JWTPayload;
    try {
      if (decodeProtectedHeader(token).kid !== this.options.keyId) return this.refuse(stream, "InvalidProviderToken");
      ({ payload: claims } = await jwtVerify(token, this.options.publicKey, {
        algorithms: ["ES256"],
        issuer: this.options.teamId,
        currentDate: new Date(this.options.now()),
        maxTokenAge: "60m",
      }));
    } catch (error) {
      const expired = error instanceof Error && "code" in error && error.code === "ERR_JWT_CLAIM_VALIDATION_FAILED";
      return this.refuse(stream, expired ? "ExpiredProviderToken" : "InvalidProviderToken");
    }
    const request: ApnsRequest = { path, headers, body: JSON.parse(text) as unknown, token, claims, session: sessionNumber };
    this.requests.push(request);
    const answer = this.answer(request, this.requests.length - 1);
    if (answer === "hang") return;
    if (answer === "refuse-stream") return stream.close(constants.NGHTTP2_REFUSED_STREAM);
    this.reply(stream, answer);
    const answered = this.requests.filter((seen) => seen.session === sessionNumber).length;
    if (this.goawayAfter !== undefined && answered >= this.goawayAfter) stream.session?.goaway();
  }

  private refuse(stream: ServerHttp2Stream, reason: string): void {
    this.refusals.push(reason);
    this.reply(stream, { status: 403, reason });
  }

  private reply(stream: ServerHttp2Stream, answer: Exclude<ApnsAnswer, "hang" | "refuse-stream">): void {
    if (stream.destroyed) return;
    stream.respond({ ":status": answer.status, "apns-id": randomUUID(), ...answer.headers });
    stream.end(answer.status === 200 ? "" : JSON.stringify({ reason: answer.reason ?? "" }));
  }
}
