import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { jwtVerify, type CryptoKey, type JWTPayload } from "jose";

export interface FcmSendRequest {
  readonly path: string;
  readonly accessToken: string;
  readonly body: unknown;
}

export type GoogleAnswer =
  | { readonly status: number; readonly body?: unknown; readonly headers?: Readonly<Record<string, string>> }
  /** Read the request and never answer. */
  | "hang";

export interface GoogleStandInOptions {
  readonly publicKey: CryptoKey;
  readonly clientEmail: string;
  /** The clock assertions are judged by (Google's own). */
  readonly now: () => number;
}

/**
 * A local HTTP server standing in for Google's OAuth2 token endpoint (`POST /token`, checking the
 * RS256 assertion's claims) and FCM's `messages:send` (checking the bearer token it issued).
 */
export class GoogleStandIn {
  /** Every assertion's verified claims, in order. */
  readonly assertions: JWTPayload[] = [];
  readonly issuedTokens: string[] = [];
  readonly sends: FcmSendRequest[] = [];
  /** Why the token endpoint refused an assertion, if it did. */
  readonly refusals: string[] = [];
  /** Seconds each issued token lives. */
  expiresIn = 3599;
  tokenAnswer: (() => GoogleAnswer) | undefined;
  sendAnswer: (request: FcmSendRequest, index: number) => GoogleAnswer = (_request, index) => ({
    status: 200,
    body: { name: `projects/demo/messages/${index + 1}` },
  });
  private readonly revoked = new Set<string>();
  private readonly server: Server;

  private constructor(private readonly options: GoogleStandInOptions) {
    this.server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on("data", (chunk: Buffer) => chunks.push(chunk));
      request.on("end", () => void this.route(request, response, Buffer.concat(chunks).toString("utf8")));
    });
  }

  static async start(options: GoogleStandInOptions): Promise<GoogleStandIn> {
    const standIn = new GoogleStandIn(options);
    await new Promise<void>((resolve) => standIn.server.listen(0, "127.0.0.1", resolve));
    return standIn;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  get tokenUrl(): string {
    return `${this.url}/token`;
  }

  /** Every token issued so far stops working, as if Google had revoked it. */
  revokeIssuedTokens(): void {
    for (const token of this.issuedTokens) this.revoked.add(token);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async route(request: IncomingMessage, response: ServerResponse, text: string): Promise<void> {
    if (request.method === "POST" && request.url === "/token") return this.token(response, text);
    const send = /^\/v1\/projects\/([^/]+)\/messages:send$/.exec(request.url ?? "");
    if (request.method === "POST" && send !== null) return this.send(request, response, text);
    this.reply(response, { status: 404, body: { error: { code: 404, status: "NOT_FOUND" } } });
  }

  private async token(response: ServerResponse, text: string): Promise<void> {
    const form = new URLSearchParams(text);
    if (form.get("grant_type") !== "urn:ietf:params:oauth:grant-type:jwt-bearer") {
      return this.refuse(response, "unsupported_grant_type");
    }
    try {
      const { payload } = await jwtVerify(form.get("assertion") ?? "", this.options.publicKey, {
        algorithms: ["RS256"],
        issuer: this.options.clientEmail,
        audience: this.tokenUrl,
        currentDate: new Date(this.options.now()),
        requiredClaims: ["iat", "exp", "scope"],
      });
      if (payload.scope !== "https://www.googleapis.com/auth/firebase.messaging") return this.refuse(response, "invalid_scope");
      if (payload.exp === undefined || payload.iat === undefined || payload.exp - payload.iat !== 3600) return this.refuse(response, "invalid_grant");
      this.assertions.push(payload);
    } catch {
      return this.refuse(response, "invalid_grant");
    }
    const answer = this.tokenAnswer?.();
    if (answer !== undefined) return this.reply(response, answer);
    const token = `ya29.test-${this.issuedTokens.length + 1}`;
    this.issuedTokens.push(token);
    this.reply(response, { status: 200, body: { access_token: token, expires_in: this.expiresIn, token_type: "Bearer" } });
  }

  private send(request: IncomingMessage, response: ServerResponse, text: string): void {
    const accessToken = /^Bearer (.+)$/.exec(request.headers.authorization ?? "")?.[1] ?? "";
    if (!this.issuedTokens.includes(accessToken) || this.revoked.has(accessToken)) {
      return this.reply(response, { status: 401, body: { error: { code: 401, message: "Request had invalid authentication credentials.", status: "UNAUTHENTICATED" } } });
    }
    const sent: FcmSendRequest = { path: request.url ?? "", accessToken, body: JSON.parse(text) as unknown };
    this.sends.push(sent);
    const answer = this.sendAnswer(sent, this.sends.length - 1);
    this.reply(response, answer);
  }

  private refuse(response: ServerResponse, error: string): void {
    this.refusals.push(error);
    this.reply(response, { status: 400, body: { error, error_description: "refused by the stand-in" } });
  }

  private reply(response: ServerResponse, answer: GoogleAnswer): void {
    if (answer === "hang") return;
    response.writeHead(answer.status, { "content-type": "application/json", ...answer.headers });
    response.end(answer.body === undefined ? "" : JSON.stringify(answer.body));
  }
}
