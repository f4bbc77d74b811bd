import { randomUUID } from "node:crypto";
import { createClient, type Client, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { expect } from "vitest";
import { TokenService } from "../../gen/onetime/v1/token_service_pb.js";
import { startTestServer, type Backend, type TestServer } from "../support/server.js";
import { signToken } from "../support/tokens.js";
import type { Protocol } from "../support/verificationClient.js";

export type TokenClient = Client<typeof TokenService>;

/** Who calls: a backend, a user (its `sub`), an admin, or nobody. */
export type Caller = { readonly kind: "service" } | { readonly kind: "admin" } | { readonly kind: "user"; readonly userId: string } | { readonly kind: "public" };

export async function tokenClient(baseUrl: string, caller: Caller, protocol: Protocol = "grpc"): Promise<TokenClient> {
  const token =
    caller.kind === "public"
      ? undefined
      : await signToken(caller.kind === "user" ? { subject: caller.userId } : { subject: `${caller.kind}-backend`, roles: [caller.kind] });
  const withToken: Interceptor = (next) => async (request) => {
    if (token !== undefined) request.header.set("authorization", `Bearer ${token}`);
    return next(request);
  };
  const interceptors = [withToken];
  const transport =
    protocol === "grpc"
      ? createGrpcTransport({ baseUrl, interceptors })
      : createConnectTransport({ baseUrl, httpVersion: "1.1", useBinaryFormat: false, interceptors });
  return createClient(TokenService, transport);
}

/** One message the console channel printed: whom it went to and what it said. */
export interface SentMessage {
  readonly to: string;
  readonly text: string;
}

/** A real server whose development console channel is the message sink the tests read. */
export interface TokenServer extends TestServer {
  readonly sent: SentMessage[];
  /** Waits for the next message to `to` and returns the OTT in it (the only run of 6 digits). */
  codeSentTo(to: string): Promise<string>;
  /** Messages to `to` so far. */
  sentTo(to: string): SentMessage[];
}

export async function startTokenServer(backend: Backend, label: string, env: Record<string, string> = {}): Promise<TokenServer> {
  const sent: SentMessage[] = [];
  const taken = new Set<SentMessage>();
  const server = await startTestServer(
    backend,
    label,
    { TOKEN_RESEND_DELAY_SECONDS: "0", OUTBOX_POLL_INTERVAL_MS: "50", ...env },
    {
      consoleOutput: (text) => {
        const to = /^to:\s+(.+)$/m.exec(text)?.[1]?.trim();
        if (to !== undefined) sent.push({ to, text });
      },
    },
  );
  const sentTo = (to: string) => sent.filter((message) => message.to === to);
  return {
    ...server,
    sent,
    sentTo,
    async codeSentTo(to) {
      let message: SentMessage | undefined;
      await expect
        .poll(() => (message = sentTo(to).find((each) => !taken.has(each))), { timeout: 5_000, message: `a message to ${to}` })
        .toBeDefined();
      taken.add(message!);
      const code = /\b(\d{6})\b/.exec(message!.text)?.[1];
      if (code === undefined) throw new Error(`no code in the message to ${to}:\n${message!.text}`);
      return code;
    },
  };
}

/** A fresh address and number per test, so no send limit of another test is ever in the way. */
export function freshEmail(label: string): string {
  return `${label}-${randomUUID().slice(0, 8)}@example.com`;
}

let phoneCounter = Math.floor(Math.random() * 9000);
export function freshPhone(): string {
  phoneCounter = (phoneCounter + 1) % 10_000;
  return `+1415555${String(phoneCounter).padStart(4, "0")}`;
}

export function freshUserId(label: string): string {
  return `${label}-${randomUUID()}`;
}
