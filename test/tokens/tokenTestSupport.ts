import { randomUUID } from "node:crypto";
import { createClient, type Client } from "@connectrpc/connect";
import { expect } from "vitest";
import { TokenService } from "../../gen/onetime/v1/token_service_pb.js";
import { startTestServer, type Backend, type TestServer } from "../support/server.js";
import { signToken } from "../support/tokens.js";
import { bearerTransport, type Protocol } from "../support/verificationClient.js";

export type TokenClient = Client<typeof TokenService>;

/** Who calls: a backend, a user (its `sub`), an admin, or nobody. */
export type Caller = { readonly kind: "service" } | { readonly kind: "admin" } | { readonly kind: "user"; readonly userId: string } | { readonly kind: "public" };

/** `headers` e.g. an X-Forwarded-For, to call from another client address when loopback is in TRUSTED_PROXIES. */
export async function tokenClient(baseUrl: string, caller: Caller, protocol: Protocol = "grpc", headers: Record<string, string> = {}): Promise<TokenClient> {
  const token =
    caller.kind === "public"
      ? undefined
      : await signToken(caller.kind === "user" ? { subject: caller.userId } : { subject: `${caller.kind}-backend`, roles: [caller.kind] });
  return createClient(TokenService, bearerTransport(baseUrl, protocol, token, headers));
}

/** One message the console channel printed: whom it went to and what it said. */
export interface SentMessage {
  readonly to: string;
  readonly text: string;
}

/** A real server whose development console channel is the message sink the tests read. */
export interface TokenServer extends TestServer {
  readonly sent: SentMessage[];
  /** Waits for the next message to `to` with an OTT and returns the OTT (the only run of 6 digits). */
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
    // Every test calls from 127.0.0.1: the per-address limit is checked on every call, and
    // reached only where a test sets it (tokenClientLimit.test.ts).
    { TOKEN_RESEND_DELAY_SECONDS: "0", OUTBOX_POLL_INTERVAL_MS: "50", TOKEN_CLIENT_LIMIT: "1000000", ...env },
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
        // A factor-change notice to the same address carries no OTT: skip it.
        .poll(() => (message = sentTo(to).find((each) => !taken.has(each) && /\b\d{6}\b/.test(each.text))), { timeout: 15_000, message: `a message to ${to}` })
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

/** The keys of a profile a test starts from: verified, MFA as asked. */
export interface ProfileKeys {
  readonly email?: string;
  readonly phone?: string;
  readonly emailMfa?: boolean;
  readonly phoneMfa?: boolean;
  readonly antiPhishingCode?: string;
}

/** Creates a profile for a fresh user id (labelled) through the API; returns the id. */
export async function createProfile(service: TokenClient, label: string, keys: ProfileKeys): Promise<string> {
  const userId = freshUserId(label);
  await service.createSecurityProfile({
    userId,
    ...(keys.email === undefined ? {} : { email: { value: keys.email, verified: true, mfaEnabled: keys.emailMfa ?? false } }),
    ...(keys.phone === undefined ? {} : { phoneNumber: { value: keys.phone, verified: true, mfaEnabled: keys.phoneMfa ?? false } }),
    ...(keys.antiPhishingCode === undefined ? {} : { antiPhishingCode: keys.antiPhishingCode }),
  });
  return userId;
}
